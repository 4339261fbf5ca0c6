// gosink: the benchmark's log-stream clients written with grpc-go, the gRPC library
// KubeArmor's own clients (karmor logs, feeder.LogService consumers) are built on.
// Same stdin/stdout protocol as bench/relay/sinks.ts, so bench/relay/run.ts drives
// either (--client-impl go|node).
//
// Each client is its own grpc.ClientConn (its own HTTP/2 connection, grpc-go's default
// window with BDP estimation, as karmor dials) calling feeder.LogService/WatchAlerts
// with Filter "all". A message is not unmarshalled into an Alert: a raw codec hands the
// bytes over and only fields 5 (NamespaceName), 6 (PodName), 19 (Operation) and 21
// (Data: "t=<ns>" send time, or "DroppedEvents=<n>" in a drop notice) are read; every
// other field is skipped by wire type. Latency = CLOCK_MONOTONIC now minus the send time
// (the runner stamps it with process.hrtime, the same clock).
//
// Usage: gosink <port> <clients>
// stdin, one command per line: "lat" (start recording latency), "count" ({got, enriched,
// dropped}), "raw" ({got, enriched, dropped, lat, eldP99ms, eldMaxms}), "report" (like raw
// with p50/p99/samples instead of lat), "exit". eldP99ms/eldMaxms are -1: Go has no event
// loop to lag (the runner leaves them out). BENCH_TRACE=1: at exit, prints on stderr the
// worst latency per 100 ms of the recorded window ("trace [[slot, ms], ...]", as sinks.ts).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rawCodec passes message bytes through unchanged (registered name "proto", so the
// content-type on the wire is the usual application/grpc+proto).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// slim is what a client keeps of one Alert.
type slim struct {
	dropped  int64
	sentNs   int64
	enriched bool
}

var errVarint = errors.New("bad varint")

func varint(b []byte, p int) (uint64, int, error) {
	var x uint64
	for s := uint(0); s < 64 && p < len(b); s += 7 {
		c := b[p]
		p++
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			return x, p, nil
		}
	}
	return 0, p, errVarint
}

func parseAlert(b []byte) (slim, error) {
	var out slim
	p := 0
	dropNotice, ns, pod := false, false, false
	dataAt, dataLen := -1, 0
	for p < len(b) {
		tag, np, err := varint(b, p)
		if err != nil {
			return out, err
		}
		p = np
		switch tag & 7 {
		case 0:
			if _, p, err = varint(b, p); err != nil {
				return out, err
			}
		case 1:
			p += 8
		case 5:
			p += 4
		case 2:
			l, np, err := varint(b, p)
			if err != nil {
				return out, err
			}
			p = np
			n := int(l)
			if n < 0 || p+n > len(b) {
				return out, errors.New("length past the end")
			}
			switch tag >> 3 {
			case 19:
				dropNotice = string(b[p:p+n]) == "Dropped"
			case 5:
				ns = n > 0
			case 6:
				pod = n > 0
			case 21:
				dataAt, dataLen = p, n
			}
			p += n
		default:
			return out, fmt.Errorf("wire type %d", tag&7)
		}
	}
	if dataAt < 0 {
		return out, errors.New("no Data field")
	}
	data := string(b[dataAt : dataAt+dataLen])
	if dropNotice {
		const key = "DroppedEvents="
		for i := 0; i+len(key) <= len(data); i++ {
			if data[i:i+len(key)] == key {
				j := i + len(key)
				k := j
				for k < len(data) && data[k] >= '0' && data[k] <= '9' {
					k++
				}
				out.dropped, _ = strconv.ParseInt(data[j:k], 10, 64)
				break
			}
		}
		return out, nil
	}
	var t int64
	for i := 2; i < len(data); i++ {
		t = t*10 + int64(data[i]-'0')
	}
	out.sentNs = t
	out.enriched = ns && pod
	return out, nil
}

func monoNs() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Sec*1e9 + ts.Nsec
}

type client struct {
	mu       sync.Mutex
	got      int64
	enriched int64
	dropped  int64
	lat      []float64
}

type state struct {
	clients   []*client
	trace     bool
	traceMu   sync.Mutex
	worst     map[int64]float64 // 100 ms slot -> worst latency (BENCH_TRACE=1)
	recording bool
	recMu     sync.RWMutex
}

func (s *state) isRecording() bool {
	s.recMu.RLock()
	defer s.recMu.RUnlock()
	return s.recording
}

func run(ctx context.Context, target string, c *client, s *state) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosink: dial %s: %v\n", target, err)
		return
	}
	defer conn.Close()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/feeder.LogService/WatchAlerts", grpc.ForceCodec(rawCodec{}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosink: WatchAlerts: %v\n", err)
		return
	}
	req := []byte{0x0a, 3, 'a', 'l', 'l'} // RequestMessage{Filter: "all"}
	if err := stream.SendMsg(&req); err != nil {
		fmt.Fprintf(os.Stderr, "gosink: send request: %v\n", err)
		return
	}
	_ = stream.CloseSend()
	var buf []byte
	for {
		if err := stream.RecvMsg(&buf); err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "gosink: stream ended: %v\n", err)
			}
			return
		}
		a, err := parseAlert(buf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gosink: bad alert: %v\n", err)
			continue
		}
		rec := s.isRecording()
		now := monoNs()
		c.mu.Lock()
		if a.dropped > 0 {
			c.dropped += a.dropped
		} else {
			c.got++
			if a.enriched {
				c.enriched++
			}
			if rec {
				l := float64(now-a.sentNs) / 1e6
				c.lat = append(c.lat, l)
				if s.trace {
					s.traceMu.Lock()
					if slot := now / 1e8; l > s.worst[slot] {
						s.worst[slot] = l
					}
					s.traceMu.Unlock()
				}
			}
		}
		c.mu.Unlock()
	}
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p / 100 * float64(len(s)))
	if i > len(s)-1 {
		i = len(s) - 1
	}
	return s[i]
}

func (s *state) snapshot(withLat bool) (got, enriched []int64, dropped int64, lat []float64) {
	for _, c := range s.clients {
		c.mu.Lock()
		got = append(got, c.got)
		enriched = append(enriched, c.enriched)
		dropped += c.dropped
		if withLat {
			lat = append(lat, c.lat...)
		}
		c.mu.Unlock()
	}
	return
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gosink <port> <clients>")
		os.Exit(2)
	}
	port, err1 := strconv.Atoi(os.Args[1])
	n, err2 := strconv.Atoi(os.Args[2])
	if err1 != nil || err2 != nil || port <= 0 || port > 65535 || n <= 0 || n > 1000 {
		fmt.Fprintf(os.Stderr, "gosink: bad arguments %q: want <port 1-65535> <clients 1-1000>\n", os.Args[1:])
		os.Exit(2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &state{trace: os.Getenv("BENCH_TRACE") == "1", worst: map[int64]float64{}}
	printTrace := func() {
		if !s.trace {
			return
		}
		s.traceMu.Lock()
		defer s.traceMu.Unlock()
		slots := make([]int64, 0, len(s.worst))
		for k := range s.worst {
			slots = append(slots, k)
		}
		sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
		fmt.Fprint(os.Stderr, "trace [")
		for i, k := range slots {
			if i > 0 {
				fmt.Fprint(os.Stderr, ",")
			}
			fmt.Fprintf(os.Stderr, "[%d,%d]", k%10000, int64(s.worst[k]))
		}
		fmt.Fprintln(os.Stderr, "]")
	}
	for i := 0; i < n; i++ {
		c := &client{}
		s.clients = append(s.clients, c)
		go run(ctx, fmt.Sprintf("127.0.0.1:%d", port), c, s)
	}
	out := bufio.NewWriter(os.Stdout)
	emit := func(v any) {
		b, _ := json.Marshal(v)
		out.Write(b)
		out.WriteByte('\n')
		out.Flush()
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "lat":
			s.recMu.Lock()
			s.recording = true
			s.recMu.Unlock()
		case "count":
			got, enriched, dropped, _ := s.snapshot(false)
			emit(map[string]any{"got": got, "enriched": enriched, "dropped": dropped})
		case "raw":
			got, enriched, dropped, lat := s.snapshot(true)
			emit(map[string]any{"got": got, "enriched": enriched, "dropped": dropped, "lat": lat, "eldP99ms": -1, "eldMaxms": -1})
		case "report":
			got, enriched, dropped, lat := s.snapshot(true)
			emit(map[string]any{"got": got, "enriched": enriched, "dropped": dropped, "p50": pct(lat, 50), "p99": pct(lat, 99), "samples": len(lat), "eldP99ms": -1, "eldMaxms": -1})
		case "exit":
			printTrace()
			cancel()
			os.Exit(0)
		}
	}
	cancel()
}
