// A service that fails outside any request, for crash-reporting.int.spec.ts: CRASH=exception
// throws from a timer, CRASH=rejection leaves a promise rejected with nobody listening.
import 'reflect-metadata';
import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { runService } from '../bootstrap';

class Crasher implements OnApplicationBootstrap {
  onApplicationBootstrap(): void {
    setTimeout(() => {
      if (process.env.CRASH === 'exception') throw new Error('boom from a timer');
      void Promise.reject(new Error('boom from a promise'));
    }, 300);
  }
}

@Module({ providers: [Crasher] })
class CrashingModule {}

void runService(CrashingModule, { name: 'crash-fixture', port: Number(process.env.PORT ?? 0) });
