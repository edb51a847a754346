// Sends spans (OTLP/HTTP JSON and protobuf), log records and metrics (OTLP/HTTP JSON) with the
// OpenTelemetry JS SDK to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT, then prints what it sent
// as one JSON line for the test to compare with the store.
import { ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";

const base = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
const resource = resourceFromAttributes({ "service.name": "node-client", "host.name": "box" });
const sent = { spans: [], logs: [] };

for (const [encoding, exporter] of [
  ["json", new JsonTraceExporter({ url: `${base}/v1/traces` })],
  ["protobuf", new ProtoTraceExporter({ url: `${base}/v1/traces` })],
]) {
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("node-checkout", "2.0.0");
  const root = tracer.startSpan(`GET /cart (${encoding})`, {
    attributes: { "http.status_code": 500, ratio: 0.25, cached: false, tags: ["a", "ü"] },
  });
  const child = tracer.startSpan("SELECT carts", {}, trace.setSpan(ROOT_CONTEXT, root));
  child.addEvent("retry", { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: "timeout" });
  child.end();
  root.end();
  for (const span of [root, child]) {
    const { traceId, spanId } = span.spanContext();
    sent.spans.push({ traceId, spanId, name: span.name });
  }
  await provider.shutdown();
}

const logs = new LoggerProvider({
  resource,
  processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${base}/v1/logs` }) })],
});
const logger = logs.getLogger("node-logger", "1.0.0");
const tracer = new BasicTracerProvider({ resource }).getTracer("t");
const request = tracer.startSpan("request");
logger.emit({
  body: "card declined",
  severityNumber: SeverityNumber.WARN,
  severityText: "WARN",
  attributes: { amount: 12.5 },
  context: trace.setSpan(ROOT_CONTEXT, request),
});
logger.emit({ body: { structured: true, items: [1, 2] }, severityNumber: SeverityNumber.ERROR });
sent.logs.push({ body: "card declined", traceId: request.spanContext().traceId, spanId: request.spanContext().spanId });
await logs.shutdown();

const reader = new PeriodicExportingMetricReader({
  exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
  exportIntervalMillis: 3_600_000,
});
const meters = new MeterProvider({ resource, readers: [reader] });
meters.getMeter("node-meter").createCounter("requests").add(5, { route: "/a" });
await meters.shutdown();

console.log(JSON.stringify(sent));
