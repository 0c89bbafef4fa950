/**
 * CORS of the attachments bucket, the same in AWS (infra/constructs/data.ts) and on the local
 * S3 emulator (infra/local/s3.ts). Browsers PUT files straight to presigned URLs (large
 * attachments from apps on any origin, the account app's import from the public origin) and
 * follow download redirects to them. Any origin may: a presigned URL is itself the
 * permission, for one object, one method and a few minutes, and carries no cookie.
 */
export const BUCKET_CORS = {
  allowedMethods: ['PUT', 'GET'] as const,
  allowedOrigins: ['*'],
  allowedHeaders: ['*'],
  maxAgeS: 3600,
};

/** The rule as S3's `PutBucketCors` XML, which the emulator takes. */
export function bucketCorsXml(): string {
  const tags = (name: string, values: readonly string[]) => values.map((v) => `<${name}>${v}</${name}>`).join('');
  return (
    '<CORSConfiguration><CORSRule>' +
    tags('AllowedOrigin', BUCKET_CORS.allowedOrigins) +
    tags('AllowedMethod', BUCKET_CORS.allowedMethods) +
    tags('AllowedHeader', BUCKET_CORS.allowedHeaders) +
    `<MaxAgeSeconds>${BUCKET_CORS.maxAgeS}</MaxAgeSeconds>` +
    '</CORSRule></CORSConfiguration>'
  );
}
