import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

export const INT64_RULE =
  'int64: written as a bare JSON integer that may exceed 2^53 — parse it as a 64-bit integer (or use the *_idstr string), never as a double.';

/** OpenAPI generated from the DTOs and controllers: the UI at /docs, the document at /docs-json. */
export function publishApiDocs(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('conversation-sync')
    .setDescription(
      "WuKongIM-compatible conversation sync. Users' reference: docs/sync-contract.md. " +
        'Every error answer is {"msg": "...", "status": n}; 400 names the bad field. ' +
        INT64_RULE,
    )
    .setVersion('1')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'token' }, 'token')
    .addBearerAuth({ type: 'http', scheme: 'bearer' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
