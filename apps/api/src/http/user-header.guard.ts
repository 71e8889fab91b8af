import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';

export const API_USER_HEADER = Symbol('API_USER_HEADER');

/**
 * Behind a gateway that authenticates users and names them in a header
 * (API_USER_HEADER, e.g. x-user-id): no header → 401, a body `uid` of another user → 403.
 */
@Injectable()
export class UserHeaderGuard implements CanActivate {
  constructor(@Inject(API_USER_HEADER) private readonly header: string | null) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.header === null) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const raw = request.headers[this.header];
    const user = Array.isArray(raw) ? raw[0] : raw;
    if (!user) throw new HttpException({ msg: `${this.header}: header required`, status: 401 }, HttpStatus.UNAUTHORIZED);
    const body = request.body as { uid?: unknown } | undefined;
    if (typeof body === 'object' && body !== null && body.uid !== undefined && body.uid !== user) {
      throw new HttpException({ msg: `uid: does not match the ${this.header} header`, status: 403 }, HttpStatus.FORBIDDEN);
    }
    return true;
  }
}
