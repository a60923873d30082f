// Command liftsmoke runs the API smoke suite against a running Lift:
// BASE_URL=http://127.0.0.1:8080 TOKEN=lift_pat_… liftsmoke.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/liftlabs/lift/deploy/internal/smoke"
)

// suiteTimeout bounds a whole run, so a hung stack fails instead of waiting.
const suiteTimeout = 2 * time.Minute

func main() {
	base, token := os.Getenv("BASE_URL"), os.Getenv("TOKEN")
	if base == "" || token == "" {
		fmt.Fprintln(os.Stderr, "liftsmoke: set BASE_URL (e.g. http://127.0.0.1:8080) and TOKEN (an account admin token, lift_pat_…)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, suiteTimeout)
	defer cancel()
	if err := smoke.Run(ctx, base, token, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
