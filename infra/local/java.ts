import { spawnSync } from 'node:child_process';

export const MIN_JAVA_VERSION = 17; // DynamoDB Local 3.x requires Java 17+

export class SetupError extends Error {}

/** Checks that `java` ≥ 17 is on PATH; otherwise one clear message saying what to install. */
export function checkJava(): void {
  const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (out.error || out.status !== 0) {
    throw new SetupError(
      `Java ${MIN_JAVA_VERSION} or newer is needed to run DynamoDB Local, and no 'java' was found on PATH.\n` +
        `Install a JDK/JRE ${MIN_JAVA_VERSION}+ (Debian/Ubuntu: 'sudo apt-get install openjdk-17-jre-headless'; ` +
        `macOS: 'brew install openjdk@17'), then run the command again.`,
    );
  }
  const text = `${out.stderr}${out.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= MIN_JAVA_VERSION)) {
    throw new SetupError(
      `DynamoDB Local needs Java ${MIN_JAVA_VERSION} or newer; 'java -version' says: ${text.split('\n')[0]}.\n` +
        `Install Java ${MIN_JAVA_VERSION}+ (Debian/Ubuntu: 'sudo apt-get install openjdk-17-jre-headless') and put it first on PATH.`,
    );
  }
}
