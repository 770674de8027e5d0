module leptoslive/bench/sseblog

go 1.19
