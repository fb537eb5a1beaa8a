// Command wirebus-bench measures the Go client: publish -> ack latency (one publisher awaiting
// each ack) and the pipelined publish rate through the BatchSender, each as a warm-up and N
// runs, printing every run and the median.
//
//	go run ./cmd/wirebus-bench -jar ../../wirebus-cli/target/wirebus.jar      # starts a broker on a UDS
//	go run ./cmd/wirebus-bench -addr unix:///tmp/h-go/bench.sock              # a running broker
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

var (
	addr      = flag.String("addr", "", "broker address (default: start one from -jar on a Unix socket)")
	jar       = flag.String("jar", os.Getenv("WIREBUS_JAR"), "broker jar to start when -addr is not given")
	bench     = flag.String("bench", "latency,throughput,raw", "benchmarks: latency, throughput (BatchSender), raw (pre-built batches on one connection)")
	duration  = flag.Duration("duration", 5*time.Second, "length of each run")
	warmup    = flag.Duration("warmup", 3*time.Second, "warm-up before the runs")
	runs      = flag.Int("runs", 3, "runs (the median is reported)")
	size      = flag.Int("size", 100, "payload bytes")
	workers   = flag.Int("workers", 1, "BatchSender workers (connections)")
	producers = flag.Int("producers", 1, "goroutines queueing messages")
	batch     = flag.Int("batch", 1000, "messages per PUBLISH_BATCH")
	inflight  = flag.Int("inflight", 8, "unacknowledged batches per connection")
	queue     = flag.Int("queue", 65536, "BatchSender queue capacity")
	cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
)

func main() {
	flag.Parse()
	address := *addr
	if address == "" {
		if *jar == "" {
			log.Fatal("give -addr of a running broker, or -jar (or WIREBUS_JAR) to start one")
		}
		dir := filepath.Join(os.TempDir(), "h-go")
		os.MkdirAll(dir, 0o700)
		sock := filepath.Join(dir, fmt.Sprintf("bench-%d.sock", os.Getpid()))
		b, err := brokertest.StartArgs([]string{"-jar", *jar, "serve", "--store", "memory", "--uds", sock,
			"--tcp", "127.0.0.1:0", "--http", "off"}, 60*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		defer b.Stop()
		address = "unix://" + sock
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("wirebus-bench (Go %s, GOMAXPROCS %d, %d CPUs) against %s; payload %d B, warm-up %v, %d runs of %v\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), address, *size, *warmup, *runs, *duration)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average: %s", la)
	}
	for _, b := range strings.Split(*bench, ",") {
		switch strings.TrimSpace(b) {
		case "latency":
			latency(address)
		case "throughput":
			throughput(address)
		case "raw":
			raw(address)
		default:
			log.Fatalf("unknown benchmark %q", b)
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d)-1) * p)
	return d[i]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// latency: one publisher, one publish at a time, each awaiting its ack.
func latency(address string) {
	ctx := context.Background()
	c, err := wirebus.Dial(ctx, wirebus.WithAddresses(address), wirebus.WithName("bench-latency"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p := make([]byte, *size)
	one := func(d time.Duration, record bool) []time.Duration {
		var lat []time.Duration
		if record {
			lat = make([]time.Duration, 0, 1<<20)
		}
		end := time.Now().Add(d)
		for {
			t0 := time.Now()
			if t0.After(end) {
				break
			}
			if _, err := c.Publish(ctx, "bench.latency", p); err != nil {
				log.Fatal(err)
			}
			if record {
				lat = append(lat, time.Since(t0))
			}
		}
		return lat
	}
	one(*warmup, false)
	var p50s []float64
	for r := 1; r <= *runs; r++ {
		lat := one(*duration, true)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		var sum time.Duration
		for _, l := range lat {
			sum += l
		}
		fmt.Printf("publish-latency run %d: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us, %.0f ops/s\n", r,
			us(pct(lat, 0.5)), us(pct(lat, 0.99)), us(pct(lat, 0.999)), us(lat[len(lat)-1]), float64(len(lat))/duration.Seconds())
		p50s = append(p50s, us(pct(lat, 0.5)))
	}
	fmt.Printf("publish-latency median p50: %.1f us\n", median(p50s))
}

// throughput: producers queue fire-and-forget messages into a BatchSender; acknowledged msgs/s.
func throughput(address string) {
	ctx := context.Background()
	s, err := wirebus.NewBatchSender(ctx, wirebus.BatchOptions{Client: wirebus.Options{Addresses: []string{address}, Name: "bench-sender"},
		Workers: *workers, QueueCapacity: *queue, MaxBatchMessages: *batch, MaxInFlightBatches: *inflight})
	if err != nil {
		log.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < *producers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := make([]byte, *size)
			stream := fmt.Sprintf("bench.throughput.%d", i)
			for !stop.Load() {
				for k := 0; k < 256; k++ {
					if err := s.Send(ctx, stream, p); err != nil {
						log.Fatal(err)
					}
				}
			}
		}(i)
	}
	measure := func(d time.Duration) float64 {
		a0, t0 := s.AckedCount(), time.Now()
		timer := time.NewTimer(d)
		<-timer.C
		return float64(s.AckedCount()-a0) / time.Since(t0).Seconds()
	}
	measure(*warmup)
	var rates []float64
	for r := 1; r <= *runs; r++ {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		rate := measure(*duration)
		runtime.ReadMemStats(&m1)
		fmt.Printf("publish-throughput (BatchSender, %d workers, %d producers, batch %d, in-flight %d) run %d: %.0f msg/s acknowledged [%d GCs]\n",
			*workers, *producers, *batch, *inflight, r, rate, m1.NumGC-m0.NumGC)
		rates = append(rates, rate)
	}
	fmt.Printf("publish-throughput median: %.0f msg/s\n", median(rates))
	stop.Store(true)
	wg.Wait()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Close(cctx); err != nil {
		log.Print(err)
	}
	if f := s.FailedCount(); f > 0 {
		log.Fatalf("%d messages failed", f)
	}
}

// raw: the same pre-built batch sent again and again on one connection with a window of
// in-flight batches: no per-message client work, the ceiling of one connection and the broker.
func raw(address string) {
	ctx := context.Background()
	c, err := wirebus.Dial(ctx, wirebus.WithAddresses(address), wirebus.WithName("bench-raw"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	recs := make([][]byte, *batch)
	for i := range recs {
		recs[i] = make([]byte, *size)
	}
	window := make(chan struct{}, *inflight)
	var acked atomic.Int64
	var failed atomic.Value
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			window <- struct{}{}
			err := c.PublishAsync(ctx, "bench.raw", recs, func(a wirebus.PublishAck, err error) {
				if err != nil {
					failed.Store(err)
				}
				acked.Add(int64(a.Count))
				<-window
			})
			if err != nil {
				log.Fatal(err)
			}
		}
	}()
	measure := func(d time.Duration) float64 {
		a0, t0 := acked.Load(), time.Now()
		timer := time.NewTimer(d)
		<-timer.C
		return float64(acked.Load()-a0) / time.Since(t0).Seconds()
	}
	measure(*warmup)
	var rates []float64
	for r := 1; r <= *runs; r++ {
		rate := measure(*duration)
		fmt.Printf("publish-throughput (raw batches of %d, in-flight %d, one connection) run %d: %.0f msg/s acknowledged\n", *batch, *inflight, r, rate)
		rates = append(rates, rate)
	}
	fmt.Printf("publish-throughput raw median: %.0f msg/s\n", median(rates))
	stop.Store(true)
	<-done
	if e := failed.Load(); e != nil {
		log.Fatal(e)
	}
}
