package pg

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer makes every statement, batch, COPY and connection attempt of a
// request a span, a child of the request's span. Statements outside any
// trace (migrations at start, background work) make none: they would each
// start a trace of their own. It is a few lines instead of a dependency;
// the attributes follow the OpenTelemetry database conventions.
type tracer struct{}

// Tracer returns the pgx tracer pools opened here use; set it as
// ConnConfig.Tracer on a pool configured elsewhere.
func Tracer() pgx.QueryTracer { return tracer{} }

var (
	_ pgx.QueryTracer    = tracer{}
	_ pgx.BatchTracer    = tracer{}
	_ pgx.CopyFromTracer = tracer{}
	_ pgx.ConnectTracer  = tracer{}
)

const instrumentation = "github.com/liftlabs/lift/pkg/pg"

var dbSystem = attribute.String("db.system.name", "postgresql")

func start(ctx context.Context, name string, attrs ...attribute.KeyValue) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	ctx, _ = otel.Tracer(instrumentation).Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(append(attrs, dbSystem)...))
	return ctx
}

func end(ctx context.Context, err error, attrs ...attribute.KeyValue) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attrs...)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// operation is the statement's first keyword (SELECT, INSERT, WITH…), a
// span name of low cardinality; the full text is an attribute.
func operation(sql string) string {
	sql = strings.TrimSpace(sql)
	if i := strings.IndexAny(sql, " \t\n("); i > 0 {
		sql = sql[:i]
	}
	return strings.ToUpper(sql)
}

func dbName(conn *pgx.Conn) attribute.KeyValue {
	return attribute.String("db.namespace", conn.Config().Database)
}

func (tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return start(ctx, operation(data.SQL), dbName(conn), attribute.String("db.query.text", data.SQL))
}

func (tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, data.Err, attribute.Int64("db.response.returned_rows", data.CommandTag.RowsAffected()))
}

func (tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	return start(ctx, "BATCH", dbName(conn), attribute.Int("db.operation.batch.size", data.Batch.Len()))
}

func (tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("query", trace.WithAttributes(attribute.String("db.query.text", data.SQL)))
	}
}

func (tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	end(ctx, data.Err)
}

func (tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return start(ctx, "COPY", dbName(conn), attribute.String("db.collection.name", data.TableName.Sanitize()))
}

func (tracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	end(ctx, data.Err, attribute.Int64("db.response.returned_rows", data.CommandTag.RowsAffected()))
}

func (tracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	return start(ctx, "CONNECT", attribute.String("db.namespace", data.ConnConfig.Database),
		attribute.String("server.address", data.ConnConfig.Host))
}

func (tracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	end(ctx, data.Err)
}
