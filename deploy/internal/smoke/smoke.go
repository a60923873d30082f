// Package smoke is an API smoke suite that runs against any Lift base URL:
// a chain of REST checks, each carrying ids from one response to the next,
// from creating a project to reading exact experiment results and cleaning
// up.
package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

// step is one check. run returns the HTTP status of its last request.
type step struct {
	name string
	run  func(ctx context.Context) (int, error)
	// cleanup steps run even after an earlier failure, so a broken run
	// leaves as little behind as possible; they skip themselves when what
	// they remove was never made.
	cleanup bool
}

// errSkip marks a cleanup step with nothing to do.
var errSkip = errors.New("skipped")

// Run executes the suite against baseURL with an API token that can create
// projects (an account admin token), printing one line per step and a final
// "N passed, M failed" line to out. It returns an error when any step failed.
func Run(ctx context.Context, baseURL, token string, out io.Writer) error {
	s := newSuite(apiclient.New(baseURL, token))
	passed, failed := 0, 0
	broken := false
	for _, st := range s.steps() {
		if broken && !st.cleanup {
			fmt.Fprintf(out, "SKIP %-34s\n", st.name)
			continue
		}
		start := time.Now()
		status, err := st.run(ctx)
		ms := time.Since(start).Milliseconds()
		switch {
		case errors.Is(err, errSkip):
			fmt.Fprintf(out, "SKIP %-34s\n", st.name)
		case err != nil:
			failed++
			broken = true
			fmt.Fprintf(out, "FAIL %-34s %3d %6dms\n     %v\n", st.name, status, ms, err)
		default:
			passed++
			fmt.Fprintf(out, "ok   %-34s %3d %6dms\n", st.name, status, ms)
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return fmt.Errorf("smoke: %d of %d steps failed", failed, passed+failed)
	}
	return nil
}
