package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the sensor's collector and the Go runtime and process
// collectors (memory, file descriptors, goroutines: what soak tests watch for leaks).
func NewRegistry(g Gatherer) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(g),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves /metrics from reg, /healthz (200 while the process serves) and /readyz (200
// while ready reports true, else 503). Every endpoint is read-only: methods other than GET and
// HEAD get 405, other paths 404.
func Handler(reg *prometheus.Registry, ready func() bool) http.Handler {
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: nil,
		// Scrapes fold every worker's counters under one lock: a flood of them would only queue.
		MaxRequestsInFlight: 4,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h http.Handler
		switch r.URL.Path {
		case "/metrics":
			h = metrics
		case "/healthz":
			h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") })
		case "/readyz":
			h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if ready != nil && ready() {
					text(w, http.StatusOK, "ready")
				} else {
					text(w, http.StatusServiceUnavailable, "not ready: capture not running")
				}
			})
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			text(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write([]byte(msg + "\n"))
}
