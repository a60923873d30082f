// Package admin serves the operator endpoints every binary exposes on
// LIFT_ADMIN_ADDR: Prometheus /metrics and /debug/pprof.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Route is an operator endpoint a binary adds to the admin mux (e.g.
// results' listing of set-aside events).
type Route struct {
	Pattern string
	Handler http.Handler
}

// Handler returns the admin mux. It is kept off the public ports because
// pprof and metrics reveal internals.
func Handler(routes ...Route) http.Handler {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// Serve listens on addr until ctx ends. An empty addr disables the admin
// server. Errors are logged, not returned: metrics must not take the
// service down.
func Serve(ctx context.Context, addr string, logger *slog.Logger, routes ...Route) {
	if addr == "" {
		return
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("admin server", "addr", addr, "error", err.Error())
		return
	}
	srv := &http.Server{Handler: Handler(routes...), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("admin server listening", "addr", lis.Addr().String())
	if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("admin server", "error", err.Error())
	}
}
