package pg

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports a pool's pgxpool.Stat at scrape time.
type poolCollector struct {
	pool  *pgxpool.Pool
	descs []poolMetric
}

type poolMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*pgxpool.Stat) float64
}

// NewPoolCollector returns a Prometheus collector of pool's statistics,
// labelled database=<the pool's database>.
func NewPoolCollector(pool *pgxpool.Pool) prometheus.Collector {
	labels := prometheus.Labels{"database": pool.Config().ConnConfig.Database}
	m := func(name, help string, kind prometheus.ValueType, v func(*pgxpool.Stat) float64) poolMetric {
		return poolMetric{prometheus.NewDesc("lift_pg_pool_"+name, help, nil, labels), kind, v}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{pool: pool, descs: []poolMetric{
		m("max_connections", "Largest size of the pool.", g, func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }),
		m("total_connections", "Connections open (idle, in use or being opened).", g, func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }),
		m("acquired_connections", "Connections in use.", g, func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }),
		m("idle_connections", "Idle connections.", g, func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }),
		m("constructing_connections", "Connections being opened.", g, func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) }),
		m("acquires_total", "Connections handed out.", c, func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }),
		m("acquire_wait_seconds_total", "Time spent waiting for a connection.", c, func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }),
		m("empty_acquires_total", "Acquires that had to wait because no connection was idle.", c, func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }),
		m("canceled_acquires_total", "Acquires abandoned because the request ended first.", c, func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }),
		m("new_connections_total", "Connections opened (a rise after a database restart is the pool reconnecting).", c, func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }),
	}}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d.desc
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	for _, d := range p.descs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(s))
	}
}

// RegisterPoolMetrics registers pool's collector with the default registry
// (served on the admin port) and returns the function that unregisters it.
func RegisterPoolMetrics(pool *pgxpool.Pool) (unregister func()) {
	c := NewPoolCollector(pool)
	prometheus.MustRegister(c)
	return func() { prometheus.Unregister(c) }
}
