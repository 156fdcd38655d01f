import {
  Body,
  Controller,
  type DynamicModule,
  Get,
  HttpCode,
  Inject,
  Module,
  type OnApplicationShutdown,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  deadLetterTopic,
  DeadLetterReadTimeoutError,
  DeadLetters,
  isDeadLetterTopic,
  KafkaPublisher,
  originalTopicOf,
  REDRIVE_HEADER,
  type DeadLetterEntry,
  type KafkaConnectionConfig,
  type RedriveResult,
} from '@platform/messaging';
import type { Request } from 'express';
import { z } from 'zod';
import { Actors, AdminOnly } from './actor';
import { AuditLog } from './audit';
import { scrubConnectionStrings } from './logging';
import { ProblemError, ValidationProblem } from './problem-details';
import { ZodPipe } from './zod-pipe';

export interface DeadLetterAdminOptions {
  /** The topics the service consumes; their `.dlq` companions are what the endpoints read. */
  readonly topics: readonly string[];
  /** The broker connection, read when the app is created (so tests can set the environment). */
  readonly kafka: () => KafkaConnectionConfig;
  /** Reading a dead-letter topic to its end gives up after this long; default 30 s. */
  readonly readTimeoutMs?: number;
}

/** One dead letter as an operator sees it: why and where it failed, and the payload's size only. */
export interface DeadLetterView {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly partition: number;
  readonly offset: string;
  readonly messageId: string | null;
  readonly type: string | null;
  readonly key: string | null;
  readonly reason: string | null;
  readonly errorName: string | null;
  /** The handler's error message, credentials scrubbed, cut to 500 characters. */
  readonly error: string | null;
  readonly attempts: number | null;
  readonly failedAt: string | null;
  readonly consumerGroup: string | null;
  readonly originalPartition: number | null;
  readonly originalOffset: string | null;
  readonly redriveCount: number;
  readonly payloadBytes: number;
}

const MAX_ERROR_LENGTH = 500;

function view(entry: DeadLetterEntry): DeadLetterView {
  const details = entry.details;
  const error = details === undefined ? null : scrubConnectionStrings(details.error);
  return {
    topic: details?.originalTopic ?? originalTopicOf(entry.dlqTopic),
    dlqTopic: entry.dlqTopic,
    partition: entry.partition,
    offset: entry.offset,
    messageId: entry.messageId ?? null,
    type: entry.type ?? null,
    key: entry.key?.toString('utf8') ?? null,
    reason: details?.reason ?? null,
    errorName: details?.errorName ?? null,
    error:
      error !== null && error.length > MAX_ERROR_LENGTH
        ? `${error.slice(0, MAX_ERROR_LENGTH)}...`
        : error,
    attempts: details?.attempts ?? null,
    failedAt: details?.failedAt ?? null,
    consumerGroup: details?.consumerGroup ?? null,
    originalPartition: details?.originalPartition ?? null,
    originalOffset: details?.originalOffset ?? null,
    redriveCount: Number(entry.headers[REDRIVE_HEADER.count] ?? 0) || 0,
    payloadBytes: entry.value?.length ?? 0,
  };
}

/** The service's dead-letter topics, behind the two admin endpoints. */
export class DeadLetterAdmin implements OnApplicationShutdown {
  readonly topics: readonly string[];
  private readonly publisher: KafkaPublisher;
  private readonly deadLetters: DeadLetters;

  constructor(options: DeadLetterAdminOptions) {
    this.topics = [...options.topics];
    const kafka = options.kafka();
    // Its own producer: redriving copies records byte for byte, so it needs no registry.
    this.publisher = new KafkaPublisher(kafka);
    this.deadLetters = new DeadLetters(kafka, {
      publisher: this.publisher,
      ...(options.readTimeoutMs !== undefined && { readTimeoutMs: options.readTimeoutMs }),
    });
  }

  /** The dead-letter topic of `topic` (given as the consumed topic or as its `.dlq`), if it is one of ours. */
  dlqTopicOf(topic: string): string {
    const original = isDeadLetterTopic(topic) ? originalTopicOf(topic) : topic;
    if (!this.topics.includes(original)) {
      throw new ValidationProblem('the topic is not one this service consumes', [
        { path: 'topic', message: `one of ${this.topics.join(', ')}` },
      ]);
    }
    return deadLetterTopic(original);
  }

  async list(topic: string | undefined): Promise<DeadLetterView[]> {
    const dlqTopics =
      topic === undefined ? this.topics.map((t) => deadLetterTopic(t)) : [this.dlqTopicOf(topic)];
    const views: DeadLetterView[] = [];
    for (const dlqTopic of dlqTopics) {
      const entries = await unavailableOnTimeout(() => this.deadLetters.listDeadLetters(dlqTopic));
      views.push(...entries.map(view));
    }
    return views;
  }

  redrive(dlqTopic: string, selection: RedriveBody): Promise<RedriveResult> {
    return unavailableOnTimeout(() =>
      this.deadLetters.redrive(dlqTopic, {
        ...(selection.messageIds !== undefined && { messageIds: selection.messageIds }),
        ...(selection.records !== undefined && { records: selection.records }),
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.close();
  }
}

async function unavailableOnTimeout<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DeadLetterReadTimeoutError) {
      throw new ProblemError(503, 'Service Unavailable', error.message, { retryAfterSeconds: 5 });
    }
    throw error;
  }
}

const TopicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[A-Za-z0-9._-]+$/, 'a Kafka topic name');

const ListQuery = z.strictObject({ topic: TopicName.optional() });
type ListQuery = z.infer<typeof ListQuery>;

/** POST /admin/dead-letters/redrive. Strict, with at least one message id or record. */
export const RedriveBody = z
  .strictObject({
    topic: TopicName,
    messageIds: z.array(z.string().min(1).max(200)).min(1).max(1000).optional(),
    records: z
      .array(
        z.strictObject({
          partition: z.int().min(0).max(100_000),
          offset: z
            .union([z.string().regex(/^\d{1,19}$/, 'a Kafka offset'), z.int().min(0)])
            .transform(String),
        }),
      )
      .min(1)
      .max(1000)
      .optional(),
  })
  .refine((body) => body.messageIds !== undefined || body.records !== undefined, {
    message: 'name the dead letters to redrive: messageIds, records, or both',
  });
export type RedriveBody = z.infer<typeof RedriveBody>;

@ApiTags('admin')
@Controller('admin/dead-letters')
export class DeadLetterAdminController {
  constructor(
    @Inject(DeadLetterAdmin) private readonly admin: DeadLetterAdmin,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(Actors) private readonly actors: Actors,
  ) {}

  @Get()
  @AdminOnly('dead-letters.listed')
  @ApiOperation({
    summary:
      'Dead letters of the topics this service consumes (or of one): why, where, payload size',
  })
  @ApiQuery({ name: 'topic', required: false, description: 'a consumed topic, or its .dlq' })
  async list(
    @Query(new ZodPipe(ListQuery, 'query')) query: ListQuery,
  ): Promise<{ items: DeadLetterView[] }> {
    return { items: await this.admin.list(query.topic) };
  }

  @Post('redrive')
  @HttpCode(200)
  @AdminOnly('dead-letter.redriven')
  @ApiOperation({
    summary: 'Publish chosen dead letters to their original topic again (same message id)',
  })
  @ApiBody({ schema: z.toJSONSchema(RedriveBody, { io: 'input' }) as Record<string, unknown> })
  @ApiResponse({ status: 200, description: '{ redriven: [...], notFound: [...] }' })
  async redrive(
    @Body(new ZodPipe(RedriveBody, 'redrive request')) body: RedriveBody,
    @Req() request: Request,
  ): Promise<RedriveResult> {
    const actor = this.actors.resolve(request);
    const dlqTopic = this.admin.dlqTopicOf(body.topic);
    const requested = {
      ...(body.messageIds !== undefined && { messageIds: body.messageIds }),
      ...(body.records !== undefined && { records: body.records }),
    };
    let result: RedriveResult;
    try {
      result = await this.admin.redrive(dlqTopic, body);
    } catch (error) {
      await this.audit.record({
        action: 'dead-letter.redriven',
        actor,
        subject: { type: 'dead-letter-topic', id: dlqTopic },
        outcome: 'failed',
        details: { requested, error: error instanceof Error ? error.name : 'Error' },
      });
      throw error;
    }
    await this.audit.record({
      action: 'dead-letter.redriven',
      actor,
      subject: { type: 'dead-letter-topic', id: dlqTopic },
      // Nothing matched: the operator's request had no effect.
      outcome: result.redriven.length > 0 ? 'succeeded' : 'failed',
      details: { requested, redriven: result.redriven, notFound: result.notFound },
    });
    return result;
  }
}

/**
 * The dead-letter admin endpoints for a service, mounted with the topics it consumes:
 * `DeadLetterAdminModule.register({ topics: [TOPICS.inventoryCommands], kafka: () => ... })`.
 * `GET /admin/dead-letters?topic=` and `POST /admin/dead-letters/redrive`, both `@AdminOnly`,
 * the redrive audited as `dead-letter.redriven`.
 */
@Module({})
export class DeadLetterAdminModule {
  static register(options: DeadLetterAdminOptions): DynamicModule {
    return {
      module: DeadLetterAdminModule,
      controllers: [DeadLetterAdminController],
      providers: [{ provide: DeadLetterAdmin, useFactory: () => new DeadLetterAdmin(options) }],
    };
  }
}
