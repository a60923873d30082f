// Command healthcheck is the container health probe baked into every Lift
// image: distroless images have no shell, curl or grpc_health_probe, so
// Docker's HEALTHCHECK runs this instead.
//
//	healthcheck grpc 127.0.0.1:9101   # grpc.health.v1 Check, overall server health
//	healthcheck http http://127.0.0.1:8080/readyz
//
// It exits 0 when the target reports healthy and 1 otherwise.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// timeout stays below the compose healthcheck timeout so a hung target is
// reported by this process, with a message, rather than killed by Docker.
const timeout = 2 * time.Second

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: healthcheck grpc HOST:PORT | healthcheck http URL")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "grpc":
		err = checkGRPC(ctx, os.Args[2])
	case "http":
		err = checkHTTP(ctx, os.Args[2])
	default:
		err = fmt.Errorf("unknown probe kind %q (want grpc or http)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		os.Exit(1)
	}
}

// checkGRPC asks for the server's overall status (empty service name), which
// grpcserver flips to NOT_SERVING while draining.
func checkGRPC(ctx context.Context, addr string) error {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s reports %s", addr, s)
	}
	return nil
}

func checkHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
