import { HttpException, HttpStatus } from '@nestjs/common';

/** 400 with a message naming the field: `{"msg": "...", "status": 400}`. */
export class BadRequest extends HttpException {
  constructor(msg: string) {
    super({ msg, status: HttpStatus.BAD_REQUEST }, HttpStatus.BAD_REQUEST);
  }
}

export class ServiceUnavailable extends HttpException {
  constructor(msg: string) {
    super({ msg, status: HttpStatus.SERVICE_UNAVAILABLE }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}

export class NotYetVisible extends HttpException {
  constructor(msg: string) {
    super({ msg, status: HttpStatus.GATEWAY_TIMEOUT }, HttpStatus.GATEWAY_TIMEOUT);
  }
}
