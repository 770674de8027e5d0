// An SSE broker in the style of the Go SSE blog pattern, standard library only: one buffered
// channel per client, a map of clients per topic, and `fmt.Fprintf` + `Flush` per message.
//
//	GET  /sub/{topic}  subscribe (text/event-stream)
//	POST /pub/{topic}  publish the body to the topic's subscribers
//
// A comment goes to every stream every HEARTBEAT_MS (default 15000), as a real deployment
// behind proxies needs. Part of leptos-live's benchmark (bench/), not of the app.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type Broker struct {
	mu      sync.Mutex
	clients map[string]map[chan []byte]struct{}
}

func (b *Broker) subscribe(topic string) chan []byte {
	ch := make(chan []byte, 1024)
	b.mu.Lock()
	defer b.mu.Unlock()
	set, ok := b.clients[topic]
	if !ok {
		set = make(map[chan []byte]struct{})
		b.clients[topic] = set
	}
	set[ch] = struct{}{}
	return ch
}

func (b *Broker) unsubscribe(topic string, ch chan []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.clients[topic], ch)
	if len(b.clients[topic]) == 0 {
		delete(b.clients, topic)
	}
}

func (b *Broker) publish(topic string, msg []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.clients[topic] {
		select {
		case ch <- msg:
		default: // a client this far behind loses the message
		}
	}
}

func main() {
	addr := os.Getenv("ADDR")
	heartbeat := 15 * time.Second
	if ms, err := strconv.Atoi(os.Getenv("HEARTBEAT_MS")); err == nil && ms > 0 {
		heartbeat = time.Duration(ms) * time.Millisecond
	}
	broker := &Broker{clients: make(map[string]map[chan []byte]struct{})}

	http.HandleFunc("/sub/", func(w http.ResponseWriter, r *http.Request) {
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		topic := strings.TrimPrefix(r.URL.Path, "/sub/")
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Connection", "keep-alive")
		ch := broker.subscribe(topic)
		defer broker.unsubscribe(topic, ch)
		flusher.Flush()
		ticker := time.NewTicker(heartbeat)
		defer ticker.Stop()
		for {
			select {
			case msg := <-ch:
				fmt.Fprintf(w, "data: %s\n\n", msg)
				flusher.Flush()
			case <-ticker.C:
				fmt.Fprint(w, ":\n\n")
				flusher.Flush()
			case <-r.Context().Done():
				return
			}
		}
	})

	http.HandleFunc("/pub/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		broker.publish(strings.TrimPrefix(r.URL.Path, "/pub/"), body)
		w.WriteHeader(http.StatusNoContent)
	})

	fmt.Printf("listening on http://%s\n", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
