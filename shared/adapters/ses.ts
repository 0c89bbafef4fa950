import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { config } from '../config';
import { log } from '../log';
import { recordSdkCalls } from '../sdk-calls';

/** Mail through SES (./mail.ts imports this module when it sends one; its `Mail` has these fields). */
interface SesMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  meta: { kind: string; username: string };
}

let ses: SESv2Client | undefined;

export async function sendWithSes(mail: SesMail, from: string): Promise<void> {
  ses ??= recordSdkCalls(new SESv2Client({ region: config().region }));
  await ses.send(
    new SendEmailCommand({
      FromEmailAddress: from,
      Destination: { ToAddresses: [mail.to] },
      Content: {
        Simple: {
          Subject: { Data: mail.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
        },
      },
    }),
  );
  log.info('mail sent', { kind: mail.meta.kind, username: mail.meta.username, via: 'ses' });
}
