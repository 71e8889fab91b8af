import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { FastifyRequest } from 'fastify';

/** When API_TOKEN is set, requests carry `token: <API_TOKEN>` or `Authorization: Bearer <API_TOKEN>`. */
export const API_TOKEN = Symbol('API_TOKEN');

@Injectable()
export class TokenGuard implements CanActivate {
  constructor(@Inject(API_TOKEN) private readonly token: string | null) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.token === null) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const given = headerValue(request.headers.token) ?? bearer(headerValue(request.headers.authorization));
    if (given !== undefined && sameSecret(given, this.token)) return true;
    throw new HttpException({ msg: 'token: missing or wrong', status: 401 }, HttpStatus.UNAUTHORIZED);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function bearer(value: string | undefined): string | undefined {
  const match = value?.match(/^Bearer\s+(.+)$/i);
  return match?.[1];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
