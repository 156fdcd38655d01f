import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

@ApiTags('health')
@Controller('health')
export class HealthController {
  @Get()
  @ApiOperation({ summary: 'Liveness: 200 {status: "ok"} while the process serves requests' })
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
