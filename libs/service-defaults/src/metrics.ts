import { getHeapStatistics } from 'node:v8';
import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { PrometheusMessagingMetrics, PrometheusProjectionMetrics } from './prometheus-hooks';

/** Paths that are neither measured nor logged: probes and scrapes would drown the real traffic. */
export function isPlatformEndpoint(path: string): boolean {
  return path === '/metrics' || path.startsWith('/health');
}

/** Seconds buckets for HTTP: the SLO threshold (100 ms) is a bucket edge, so it can be alerted on. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's Prometheus registry and the platform's metrics on it: one per application, so
 * two apps in one process (tests) never share series. Every series carries `service` as a
 * default label, set once the service name is known (`createServiceApp`). Services add their own
 * metrics with `counter` / `gauge` / `histogram`, which register on this registry.
 */
@Injectable()
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly messaging: PrometheusMessagingMetrics;
  readonly projections: PrometheusProjectionMetrics;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // V8 grows the allocated heap (nodejs_heap_size_total_bytes) just ahead of what is used, so
    // used/total sits near 100% in a healthy process. Running out means reaching this limit
    // (--max-old-space-size, or V8's default for the machine's memory), so alerts divide by it.
    this.gauge({
      name: 'nodejs_heap_size_limit_bytes',
      help: 'V8 heap size limit (heap_size_limit: --max-old-space-size or the default), in bytes.',
      collect() {
        this.set(getHeapStatistics().heap_size_limit);
      },
    });
    this.httpRequests = this.counter({
      name: 'http_server_requests_total',
      help: 'HTTP requests served, by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
    });
    this.httpDuration = this.histogram({
      name: 'http_server_request_duration_seconds',
      help: 'HTTP request duration from arrival to the response being sent, in seconds.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_DURATION_BUCKETS,
    });
    this.messaging = new PrometheusMessagingMetrics(this.registry);
    this.projections = new PrometheusProjectionMetrics(this.registry);
  }

  /** Adds `service="<name>"` to every series of this registry (applied at scrape time). */
  setServiceName(name: string): void {
    this.registry.setDefaultLabels({ service: name });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter<L>({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge<L>({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram<L>({ ...config, registers: [this.registry] });
  }

  /**
   * Express middleware measuring every request except health and /metrics. The route label is the
   * matched route template (`/orders/:id`), never the raw URL, so ids do not explode cardinality;
   * requests no route matched (404s, bodies refused before routing, draining 503s) are
   * `route="unmatched"`.
   */
  httpMiddleware(): (request: Request, response: Response, next: NextFunction) => void {
    return (request, response, next) => {
      if (isPlatformEndpoint(request.path)) {
        next();
        return;
      }
      const started = process.hrtime.bigint();
      response.once('finish', () => {
        const labels = {
          method: request.method,
          route: routeTemplate(request),
          status: String(response.statusCode),
        };
        this.httpRequests.inc(labels);
        this.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    };
  }
}

/** Catch-all routes (Nest's and static assets' fallbacks) match anything: they name no route. */
const CATCH_ALL = new Set(['*', '/*', '/{*path}', '*path', '/*path']);

/** The matched route's template (Express keeps `req.route` after the handler ran). */
export function routeTemplate(request: Request): string {
  const route: unknown = request.route;
  if (typeof route === 'object' && route !== null && 'path' in route) {
    const path = route.path;
    if (typeof path === 'string' && !CATCH_ALL.has(path)) return `${request.baseUrl}${path}`;
  }
  return 'unmatched';
}

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
