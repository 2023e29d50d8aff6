package statelock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperEnv makes the test binary act as one embedwizard process holding or contending for the lock.
const helperEnv = "STATELOCK_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := helper(mode, os.Args[len(os.Args)-3:]); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper runs one helper process. Modes:
//
//	hold <dir> <command> -: take the lock, print "ready", hold it until stdin closes.
//	work <dir> <dir/log> <iterations>: wait for dir/start, then run the critical section that many times.
//	exit - - -: exit at once (a pid that is gone afterwards).
func helper(mode string, args []string) error {
	switch mode {
	case "hold":
		l, err := Acquire(args[0], args[1])
		if err != nil {
			return err
		}
		fmt.Println("ready")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		return l.Release()
	case "work":
		n, _ := strconv.Atoi(args[2])
		return work(args[0], args[1], n)
	case "exit":
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// work is what two concurrent `up` runs did wrong: look whether the X-ray dashboard exists, and make it if not.
// Each pass logs "begin" and "end" around the section; the test reads the log for overlaps.
func work(dir, logPath string, iterations int) error {
	for {
		if _, err := os.Stat(filepath.Join(dir, "start")); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	id := strconv.Itoa(os.Getpid())
	xray := filepath.Join(dir, "dashboards")
	contended := 0
	for i := 0; i < iterations; {
		l, err := Acquire(dir, "up")
		var held *HeldError
		if errors.As(err, &held) {
			if held.PID == os.Getpid() {
				return fmt.Errorf("the lock says this process holds it: %v", held)
			}
			contended++
			time.Sleep(time.Duration(1+os.Getpid()%3) * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		appendLine(logPath, "begin "+id+" "+strconv.Itoa(i))
		if data, _ := os.ReadFile(xray); !strings.Contains(string(data), "xray") {
			time.Sleep(3 * time.Millisecond) // the X-ray call takes a while; a second run slips in here
			appendLine(xray, "xray "+id)
		}
		time.Sleep(time.Millisecond)
		appendLine(logPath, "end "+id+" "+strconv.Itoa(i))
		if err := l.Release(); err != nil {
			return err
		}
		i++
	}
	appendLine(logPath, "contended "+id+" "+strconv.Itoa(contended))
	return nil
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		panic(err)
	}
}

func helperCmd(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// TestConcurrentHolders runs N processes through the guarded section: one at a time, every pass exactly once,
// one X-ray dashboard.
func TestConcurrentHolders(t *testing.T) {
	const procs, iterations = 6, 15
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log")
	var cmds []*exec.Cmd
	for p := 0; p < procs; p++ {
		cmd := helperCmd(t, "work", dir, logPath, strconv.Itoa(iterations))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	if err := os.WriteFile(filepath.Join(dir, "start"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v", cmd.Process.Pid, err)
		}
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	passes, contended, err := checkLog(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if passes != procs*iterations {
		t.Errorf("%d passes through the section, want %d", passes, procs*iterations)
	}
	// Without contention this test would prove nothing.
	if contended == 0 {
		t.Errorf("no process ever found the lock held; the helpers did not run concurrently")
	}
	xray, _ := os.ReadFile(filepath.Join(dir, "dashboards"))
	if n := strings.Count(string(xray), "xray"); n != 1 {
		t.Errorf("%d X-ray dashboards made, want 1:\n%s", n, xray)
	}
	t.Logf("%d processes, %d passes, %d refusals while held, 0 overlaps", procs, passes, contended)
}

// checkLog reads a critical-section log: every "begin" is followed by its own "end" before anything else begins,
// and no pass appears twice. It returns the passes and the refusals the helpers counted.
func checkLog(log string) (passes, contended int, err error) {
	seen := map[string]bool{}
	open := ""
	for n, line := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return 0, 0, fmt.Errorf("line %d: %q is not a log line", n+1, line)
		}
		pass := f[1] + " " + f[2]
		switch f[0] {
		case "begin":
			if open != "" {
				return 0, 0, fmt.Errorf("line %d: %s began while %s was inside the section", n+1, pass, open)
			}
			if seen[pass] {
				return 0, 0, fmt.Errorf("line %d: pass %s ran twice", n+1, pass)
			}
			seen[pass], open = true, pass
		case "end":
			if open != pass {
				return 0, 0, fmt.Errorf("line %d: %s ended, but the section held %q", n+1, pass, open)
			}
			open = ""
			passes++
		case "contended":
			c, _ := strconv.Atoi(f[2])
			contended += c
		}
	}
	if open != "" {
		return 0, 0, fmt.Errorf("%s never ended", open)
	}
	return passes, contended, nil
}

// TestCheckLog shows that the concurrency test catches what it looks for.
func TestCheckLog(t *testing.T) {
	tests := []struct {
		name, log, wantErr string
	}{
		{"one at a time", "begin 1 0\nend 1 0\nbegin 2 0\nend 2 0\ncontended 2 4", ""},
		{"overlap", "begin 1 0\nbegin 2 0\nend 2 0\nend 1 0", "began while 1 0 was inside"},
		{"duplicate", "begin 1 0\nend 1 0\nbegin 1 0\nend 1 0", "ran twice"},
		{"unfinished", "begin 1 0", "never ended"},
		{"someone else's end", "begin 1 0\nend 2 0", "the section held"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := checkLog(tt.log)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v, want none", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// startHolder starts a helper process that holds dir's lock for command until stop is called.
func startHolder(t *testing.T, dir, command string) (cmd *exec.Cmd, stop func()) {
	t.Helper()
	cmd = helperCmd(t, "hold", dir, command, "-")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { stdin.Close(); cmd.Wait() }) }
	t.Cleanup(func() { cmd.Process.Kill(); stop() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("holder did not take the lock: %q %v", line, err)
	}
	return cmd, stop
}

// TestSecondRunNamesTheHolder is what a user running `up` twice sees, and that a killed holder blocks nobody.
func TestSecondRunNamesTheHolder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := filepath.Join(home, ".embedwizard")
	holder, _ := startHolder(t, dir, "up")

	l, err := Acquire(dir, "reset")
	if err == nil {
		l.Release()
		t.Fatal("a second process took the lock while the first held it")
	}
	var held *HeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrHeld) {
		t.Fatalf("err = %v (%T), want a *HeldError", err, err)
	}
	if held.PID != holder.Process.Pid || held.Command != "up" || time.Since(held.Since) > time.Minute {
		t.Errorf("holder = pid %d %q since %v, want pid %d `up` just now", held.PID, held.Command, held.Since, holder.Process.Pid)
	}
	want := fmt.Sprintf("another embedwizard (pid %d, `up`, since %s) holds the state dir ~/.embedwizard; wait for it or stop it",
		holder.Process.Pid, held.Since.Local().Format("15:04"))
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}

	// SIGKILL: the kernel drops the flock, the description in the file stays behind and must not matter.
	holder.Process.Kill()
	holder.Wait()
	if data, _ := os.ReadFile(filepath.Join(dir, FileName)); !strings.Contains(string(data), strconv.Itoa(holder.Process.Pid)) {
		t.Fatalf("the killed holder's description is gone (%q); this test expects it stale", data)
	}
	l, err = Acquire(dir, "reset")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestStaleDescription: the file alone never blocks, and a held lock whose file names a dead process does not
// name that process.
func TestStaleDescription(t *testing.T) {
	dir := t.TempDir()
	gone := helperCmd(t, "exit", "-", "-", "-")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf(`{"pid":%d,"command":"up","since":"2026-01-02T09:41:00Z"}`, os.Getppid())
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir, "down")
	if err != nil {
		t.Fatalf("a description of a live process without the lock blocked Acquire: %v", err)
	}
	defer l.Release()
	if fi, _ := os.Stat(filepath.Join(dir, FileName)); fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, want 0600", fi.Mode().Perm())
	}

	// Same process, second open file: flock refuses it. Now make the file name a process that is gone.
	dead := fmt.Sprintf(`{"pid":%d,"command":"up","since":"2026-01-02T09:41:00Z"}`, gone.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(dead), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "down")
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("err = %v, want a *HeldError", err)
	}
	if held.PID != 0 || !strings.HasPrefix(err.Error(), "another embedwizard process holds the state dir ") {
		t.Errorf("a held lock described by a dead pid: %v (pid %d)", err, held.PID)
	}
}

func TestAcquireRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "dir")
	l, err := Acquire(dir, "up")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v %v, want mode 0700", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v, want mode 0600", fi.Mode().Perm(), err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, FileName)); len(data) != 0 {
		t.Errorf("a released lock still describes a holder: %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("the lock file must stay (removing it races): %v", err)
	}
	l, err = Acquire(dir, "up")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l.Release()
}

func TestWait(t *testing.T) {
	dir := t.TempDir()
	_, stop := startHolder(t, dir, "up")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Wait(ctx, dir, "down"); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrHeld) {
		t.Fatalf("Wait while held: %v, want the deadline and the holder", err)
	}

	time.AfterFunc(200*time.Millisecond, stop)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := Wait(ctx, dir, "down")
	if err != nil {
		t.Fatalf("Wait after the holder finished: %v", err)
	}
	l.Release()
}

func TestHeldErrorMessage(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	now := time.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 9, 41, 0, 0, time.Local)
	earlier := time.Date(2026, time.January, 2, 9, 41, 0, 0, time.Local)
	if earlier.YearDay() == now.YearDay() && earlier.Year() == now.Year() {
		earlier = earlier.AddDate(0, 0, -1)
	}
	tests := []struct {
		name string
		err  HeldError
		want string
	}{
		{"today", HeldError{Dir: filepath.Join(home, ".embedwizard"), PID: 1234, Command: "up", Since: today},
			"another embedwizard (pid 1234, `up`, since 09:41) holds the state dir ~/.embedwizard; wait for it or stop it"},
		{"another day", HeldError{Dir: "/srv/demo", PID: 77, Command: "reset", Since: earlier},
			"another embedwizard (pid 77, `reset`, since " + earlier.Format("Jan 2") + " 09:41) holds the state dir /srv/demo; wait for it or stop it"},
		{"pid only", HeldError{Dir: "/srv/demo", PID: 77},
			"another embedwizard (pid 77) holds the state dir /srv/demo; wait for it or stop it"},
		{"unknown holder", HeldError{Dir: home, Command: "up", Since: today},
			"another embedwizard process holds the state dir ~; wait for it or stop it"},
		{"home's sibling is not home", HeldError{Dir: home + "x"},
			"another embedwizard process holds the state dir " + home + "x; wait for it or stop it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
