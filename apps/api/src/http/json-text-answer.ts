import { Header, HttpCode, applyDecorators } from '@nestjs/common';

/** A 200 whose body the handler renders itself as JSON text (sent as bytes), so int64 values stay exact. */
export const JsonTextAnswer = () => applyDecorators(HttpCode(200), Header('content-type', 'application/json; charset=utf-8'));
