// Package supervisor runs a set of local processes as one unit: their output
// is streamed line by line with a name prefix, and they stop together.
package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one program to run.
type Process struct {
	Name string
	Path string
	Args []string
	Env  []string // added to the supervisor's own environment
}

// Group is a set of running processes.
type Group struct {
	out    io.Writer
	mu     sync.Mutex // serialises lines from different processes
	cmds   []*exec.Cmd
	exited chan string
	wg     sync.WaitGroup
}

// New returns an empty group writing prefixed output to out.
func New(out io.Writer) *Group {
	return &Group{out: out, exited: make(chan string, 16)}
}

// Start launches p. Its stdout and stderr are copied to the group's output,
// each line prefixed with the process name.
func (g *Group) Start(p Process) error {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	// Own process group, so a terminal's Ctrl-C reaches only the supervisor,
	// which then stops the children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	g.cmds = append(g.cmds, cmd)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.copyLines(p.Name, stdout)
		_ = cmd.Wait()
		g.exited <- p.Name
	}()
	return nil
}

func (g *Group) copyLines(name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		g.mu.Lock()
		fmt.Fprintf(g.out, "%-12s| %s\n", name, sc.Text())
		g.mu.Unlock()
	}
}

// ErrExited reports that a process ended while the group was meant to run.
var ErrExited = errors.New("process exited")

// Wait blocks until ctx is done (nil) or a process exits on its own
// (ErrExited naming it).
func (g *Group) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case name := <-g.exited:
		return fmt.Errorf("%w: %s", ErrExited, name)
	}
}

// Stop sends SIGTERM to every process, in reverse start order so that front
// ends stop before the services they call, and kills what is still running
// after grace.
func (g *Group) Stop(grace time.Duration) {
	for i := len(g.cmds) - 1; i >= 0; i-- {
		if p := g.cmds[i].Process; p != nil {
			_ = p.Signal(syscall.SIGTERM)
		}
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		for _, c := range g.cmds {
			if c.Process != nil {
				_ = c.Process.Kill()
			}
		}
		<-done
	}
}
