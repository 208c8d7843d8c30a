// Command jetkvm_reference replays a trace through the JetKVM firmware's adaptive buffer
// code, to produce the expected output of adaptive-stream's replay contract (SPEC.md).
//
// The functions below the line "from the firmware" are the original file
// (../shared/seed/adaptive_buffer.go.txt), unchanged but for what ties them to the firmware:
// the logger, the Prometheus update and the process monitor are replaced by the trace's
// metrics, and adaptBufferSizes records its combined factor and whether it adjusted, so
// that the replay row can print them. The arithmetic is the firmware's, operation for
// operation.
//
// Usage: go run main.go TRACE.csv > EXPECTED.csv   (or - for standard input)
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// --- the firmware's surroundings, as the replay contract needs them ------------------------

// AudioConfigConstants holds the GetConfig() values in force (SPEC, defaults table).
type AudioConfigConstants struct {
	AdaptiveMinBufferSize     int
	AdaptiveMaxBufferSize     int
	AdaptiveDefaultBufferSize int
	LowCPUThreshold           float64
	HighCPUThreshold          float64
	LowMemoryThreshold        float64
	HighMemoryThreshold       float64
	TargetLatency             time.Duration
	MaxLatencyTarget          time.Duration
	BufferUpdateInterval      time.Duration
	SmoothingFactor           float64
	HistoricalWeight          float64
	CurrentWeight             float64
	CPUMemoryWeight           float64
	MemoryWeight              float64
	LatencyWeight             float64
	PercentageMultiplier      float64
}

var config = AudioConfigConstants{
	AdaptiveMinBufferSize:     3,
	AdaptiveMaxBufferSize:     20,
	AdaptiveDefaultBufferSize: 6,
	LowCPUThreshold:           0.20,
	HighCPUThreshold:          0.60,
	LowMemoryThreshold:        0.50,
	HighMemoryThreshold:       0.75,
	TargetLatency:             20 * time.Millisecond,
	MaxLatencyTarget:          50 * time.Millisecond,
	BufferUpdateInterval:      500 * time.Millisecond,
	SmoothingFactor:           0.3,
	HistoricalWeight:          0.7,
	CurrentWeight:             0.3,
	CPUMemoryWeight:           0.5,
	MemoryWeight:              0.3,
	LatencyWeight:             0.2,
	PercentageMultiplier:      100,
}

func GetConfig() *AudioConfigConstants { return &config }

// ProcessMetric is one watched process's sample; the trace holds the aggregate of one.
type ProcessMetric struct {
	CPUPercent    float64
	MemoryPercent float64
}

// ProcessMonitor returns the trace's latest metrics row, or nothing before the first.
type ProcessMonitor struct{ metrics []ProcessMetric }

func (m *ProcessMonitor) GetCurrentMetrics() []ProcessMetric { return m.metrics }

var monitor = &ProcessMonitor{}

func GetProcessMonitor() *ProcessMonitor { return monitor }

// noLog stands for the firmware's zerolog logger: every call chain is accepted and dropped.
type noLog struct{}

func (noLog) Info() noLog                     { return noLog{} }
func (noLog) Debug() noLog                    { return noLog{} }
func (noLog) Float64(string, float64) noLog   { return noLog{} }
func (noLog) Dur(string, time.Duration) noLog { return noLog{} }
func (noLog) Int(string, int) noLog           { return noLog{} }
func (noLog) Msg(string)                      {}

// What the last adaptBufferSizes computed, for the replay row.
var lastCombined float64
var lastAdjusted bool

func UpdateAdaptiveBufferMetrics(in, out int, cpu, mem float64, adjusted bool) {}

// --- from the firmware (adaptive_buffer.go), unchanged but as said above --------------------

type AdaptiveBufferConfig struct {
	MinBufferSize       int
	MaxBufferSize       int
	DefaultBufferSize   int
	LowCPUThreshold     float64
	HighCPUThreshold    float64
	LowMemoryThreshold  float64
	HighMemoryThreshold float64
	TargetLatency       time.Duration
	MaxLatency          time.Duration
	AdaptationInterval  time.Duration
	SmoothingFactor     float64
}

func DefaultAdaptiveBufferConfig() AdaptiveBufferConfig {
	return AdaptiveBufferConfig{
		MinBufferSize:       GetConfig().AdaptiveMinBufferSize,
		MaxBufferSize:       GetConfig().AdaptiveMaxBufferSize,
		DefaultBufferSize:   GetConfig().AdaptiveDefaultBufferSize,
		LowCPUThreshold:     GetConfig().LowCPUThreshold * 100,
		HighCPUThreshold:    GetConfig().HighCPUThreshold * 100,
		LowMemoryThreshold:  GetConfig().LowMemoryThreshold * 100,
		HighMemoryThreshold: GetConfig().HighMemoryThreshold * 100,
		TargetLatency:       GetConfig().TargetLatency,
		MaxLatency:          GetConfig().MaxLatencyTarget,
		AdaptationInterval:  GetConfig().BufferUpdateInterval,
		SmoothingFactor:     GetConfig().SmoothingFactor,
	}
}

type AdaptiveBufferManager struct {
	currentInputBufferSize  int64
	currentOutputBufferSize int64
	averageLatency          int64
	systemCPUPercent        int64
	systemMemoryPercent     int64
	adaptationCount         int64
	config                  AdaptiveBufferConfig
	logger                  noLog
	processMonitor          *ProcessMonitor
	ctx                     context.Context
	cancel                  context.CancelFunc
	wg                      sync.WaitGroup
	lastAdaptation          time.Time
	mutex                   sync.RWMutex
}

func NewAdaptiveBufferManager(config AdaptiveBufferConfig) *AdaptiveBufferManager {
	ctx, cancel := context.WithCancel(context.Background())
	return &AdaptiveBufferManager{
		currentInputBufferSize:  int64(config.DefaultBufferSize),
		currentOutputBufferSize: int64(config.DefaultBufferSize),
		config:                  config,
		logger:                  noLog{},
		processMonitor:          GetProcessMonitor(),
		ctx:                     ctx,
		cancel:                  cancel,
		lastAdaptation:          time.Now(),
	}
}

func (abm *AdaptiveBufferManager) GetInputBufferSize() int {
	return int(atomic.LoadInt64(&abm.currentInputBufferSize))
}

func (abm *AdaptiveBufferManager) GetOutputBufferSize() int {
	return int(atomic.LoadInt64(&abm.currentOutputBufferSize))
}

func (abm *AdaptiveBufferManager) UpdateLatency(latency time.Duration) {
	currentAvg := atomic.LoadInt64(&abm.averageLatency)
	newLatency := latency.Nanoseconds()
	if currentAvg == 0 {
		atomic.StoreInt64(&abm.averageLatency, newLatency)
	} else {
		newAvg := int64(float64(currentAvg)*GetConfig().HistoricalWeight + float64(newLatency)*GetConfig().CurrentWeight)
		atomic.StoreInt64(&abm.averageLatency, newAvg)
	}
}

func (abm *AdaptiveBufferManager) adaptBufferSizes() {
	metrics := abm.processMonitor.GetCurrentMetrics()
	if len(metrics) == 0 {
		return
	}
	totalCPU := 0.0
	totalMemory := 0.0
	processCount := 0
	for _, metric := range metrics {
		totalCPU += metric.CPUPercent
		totalMemory += metric.MemoryPercent
		processCount++
	}
	if processCount == 0 {
		return
	}
	systemCPU := totalCPU
	systemMemory := totalMemory / float64(processCount)
	atomic.StoreInt64(&abm.systemCPUPercent, int64(systemCPU*100))
	atomic.StoreInt64(&abm.systemMemoryPercent, int64(systemMemory*100))
	currentLatencyNs := atomic.LoadInt64(&abm.averageLatency)
	currentLatency := time.Duration(currentLatencyNs)
	cpuFactor := abm.calculateCPUFactor(systemCPU)
	memoryFactor := abm.calculateMemoryFactor(systemMemory)
	latencyFactor := abm.calculateLatencyFactor(currentLatency)
	combinedFactor := GetConfig().CPUMemoryWeight*cpuFactor + GetConfig().MemoryWeight*memoryFactor + GetConfig().LatencyWeight*latencyFactor
	currentInput := float64(atomic.LoadInt64(&abm.currentInputBufferSize))
	currentOutput := float64(atomic.LoadInt64(&abm.currentOutputBufferSize))
	newInputSize := abm.applyAdaptation(currentInput, combinedFactor)
	newOutputSize := abm.applyAdaptation(currentOutput, combinedFactor)
	adjustmentMade := false
	if math.Abs(newInputSize-currentInput) >= 0.5 || math.Abs(newOutputSize-currentOutput) >= 0.5 {
		atomic.StoreInt64(&abm.currentInputBufferSize, int64(math.Round(newInputSize)))
		atomic.StoreInt64(&abm.currentOutputBufferSize, int64(math.Round(newOutputSize)))
		atomic.AddInt64(&abm.adaptationCount, 1)
		abm.mutex.Lock()
		abm.lastAdaptation = time.Now()
		abm.mutex.Unlock()
		adjustmentMade = true
		abm.logger.Debug().
			Float64("cpu_percent", systemCPU).
			Float64("memory_percent", systemMemory).
			Dur("latency", currentLatency).
			Float64("combined_factor", combinedFactor).
			Int("new_input_size", int(newInputSize)).
			Int("new_output_size", int(newOutputSize)).
			Msg("Adapted buffer sizes")
	}
	currentInputSize := int(atomic.LoadInt64(&abm.currentInputBufferSize))
	currentOutputSize := int(atomic.LoadInt64(&abm.currentOutputBufferSize))
	UpdateAdaptiveBufferMetrics(currentInputSize, currentOutputSize, systemCPU, systemMemory, adjustmentMade)
	lastCombined, lastAdjusted = combinedFactor, adjustmentMade // (replay only)
}

func (abm *AdaptiveBufferManager) calculateCPUFactor(cpuPercent float64) float64 {
	if cpuPercent > abm.config.HighCPUThreshold {
		return -1.0
	} else if cpuPercent < abm.config.LowCPUThreshold {
		return 1.0
	}
	midpoint := (abm.config.HighCPUThreshold + abm.config.LowCPUThreshold) / 2
	return (midpoint - cpuPercent) / (midpoint - abm.config.LowCPUThreshold)
}

func (abm *AdaptiveBufferManager) calculateMemoryFactor(memoryPercent float64) float64 {
	if memoryPercent > abm.config.HighMemoryThreshold {
		return -1.0
	} else if memoryPercent < abm.config.LowMemoryThreshold {
		return 1.0
	}
	midpoint := (abm.config.HighMemoryThreshold + abm.config.LowMemoryThreshold) / 2
	return (midpoint - memoryPercent) / (midpoint - abm.config.LowMemoryThreshold)
}

func (abm *AdaptiveBufferManager) calculateLatencyFactor(latency time.Duration) float64 {
	if latency > abm.config.MaxLatency {
		return -1.0
	} else if latency < abm.config.TargetLatency {
		return 1.0
	}
	midLatency := (abm.config.MaxLatency + abm.config.TargetLatency) / 2
	return float64(midLatency-latency) / float64(midLatency-abm.config.TargetLatency)
}

func (abm *AdaptiveBufferManager) applyAdaptation(currentSize, factor float64) float64 {
	var targetSize float64
	if factor > 0 {
		targetSize = currentSize + factor*(float64(abm.config.MaxBufferSize)-currentSize)
	} else {
		targetSize = currentSize + factor*(currentSize-float64(abm.config.MinBufferSize))
	}
	newSize := currentSize + abm.config.SmoothingFactor*(targetSize-currentSize)
	return math.Max(float64(abm.config.MinBufferSize), math.Min(float64(abm.config.MaxBufferSize), newSize))
}

// --- the replay contract (SPEC: "Replay") ---------------------------------------------------

func fail(line int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "line %d: %s\n", line, fmt.Sprintf(format, args...))
	os.Exit(2)
}

func number(line int, text, column string) float64 {
	value, err := strconv.ParseFloat(text, 64)
	if err != nil {
		fail(line, "%s is not a number: %q", column, text)
	}
	return value
}

func g(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func main() {
	var input io.Reader = os.Stdin
	if len(os.Args) > 1 && os.Args[1] != "-" {
		file, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer file.Close()
		input = file
	}
	reader := csv.NewReader(bufio.NewReader(input))
	reader.FieldsPerRecord = 5
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	abm := NewAdaptiveBufferManager(DefaultAdaptiveBufferConfig())
	fmt.Fprintln(out, "t,input_buffer_size,output_buffer_size,cpu_percent,memory_percent,latency_ms,combined_factor,adjusted,adaptation_count")
	line := 0
	for {
		record, err := reader.Read()
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(line, "%v", err)
		}
		if line == 1 {
			continue // the header
		}
		switch record[1] {
		case "metrics":
			cpu := number(line, record[2], "cpu_percent")
			mem := number(line, record[3], "memory_percent")
			monitor.metrics = []ProcessMetric{{CPUPercent: cpu, MemoryPercent: mem}}
		case "latency":
			ms := number(line, record[4], "latency_ms")
			abm.UpdateLatency(time.Duration(math.Round(ms * 1e6)))
		case "tick":
			if len(monitor.metrics) == 0 {
				continue // a tick before any metrics does nothing and prints nothing
			}
			abm.adaptBufferSizes()
			metric := monitor.metrics[0]
			adjusted := 0
			if lastAdjusted {
				adjusted = 1
			}
			fmt.Fprintf(out, "%s,%d,%d,%s,%s,%s,%s,%d,%d\n",
				record[0], abm.GetInputBufferSize(), abm.GetOutputBufferSize(),
				g(0.0+metric.CPUPercent), g((0.0+metric.MemoryPercent)/1),
				g(float64(atomic.LoadInt64(&abm.averageLatency))/1e6), g(lastCombined),
				adjusted, atomic.LoadInt64(&abm.adaptationCount))
		default:
			fail(line, "unknown kind %q", record[1])
		}
	}
}
