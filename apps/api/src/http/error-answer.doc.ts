import { ApiProperty } from '@nestjs/swagger';

/** The shape of every error answer (for the OpenAPI document). */
export class ErrorAnswerDoc {
  @ApiProperty({ example: 'page_size: must be an integer in 1..500', description: 'what is wrong, naming the field' })
  msg!: string;

  @ApiProperty({ example: 400 })
  status!: number;
}

export class OkAnswerDoc {
  @ApiProperty({ example: 200 })
  status!: number;
}
