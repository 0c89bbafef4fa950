import { describe, expect, it } from 'vitest';
import { serviceInfoFor as serviceInfo } from '../../shared/api/methods/service';
import { readConfig } from '../../shared/config';

/** Branding and account-policy settings as the web pages read them from service info. */

describe('branding settings', () => {
  it('defaults: the bundled logo, the default colours, privacy link = terms link', () => {
    const info = serviceInfo(readConfig({ PUBLIC_URL: 'https://pryv.example.org/', SERVICE_TERMS: 'https://example.org/terms' }));
    expect(info.terms).toBe('https://example.org/terms');
    expect(info.privacy).toBe('https://example.org/terms');
    expect(info.branding).toEqual({
      logo: 'https://pryv.example.org/www/assets/logo.svg',
      accentColor: '#1f5fbf',
      backgroundColor: '#f5f6f8',
    });
  });

  it('takes the configured values', () => {
    const info = serviceInfo(
      readConfig({
        SERVICE_NAME: 'Health Vault',
        SERVICE_PRIVACY: 'https://example.org/privacy',
        SERVICE_LOGO: '/www/assets/custom.svg',
        SERVICE_ACCENT_COLOR: '#0A6',
        SERVICE_BACKGROUND_COLOR: '#ffffff',
      }),
    );
    expect(info.name).toBe('Health Vault');
    expect(info.privacy).toBe('https://example.org/privacy');
    expect(info.branding).toEqual({ logo: '/www/assets/custom.svg', accentColor: '#0A6', backgroundColor: '#ffffff' });
  });

  it('refuses a colour that is not a plain #rgb / #rrggbb (the pages put it into CSS)', () => {
    for (const bad of ['red', '#12345', 'url(x)', '#fff;background:url(x)', 'rgb(0,0,0)']) {
      expect(() => readConfig({ SERVICE_ACCENT_COLOR: bad }), bad).toThrow(/SERVICE_ACCENT_COLOR/);
      expect(() => readConfig({ SERVICE_BACKGROUND_COLOR: bad }), bad).toThrow(/SERVICE_BACKGROUND_COLOR/);
    }
  });
});

describe('account policy in service info', () => {
  it('says whether users may erase their account and what happens to the audit log', () => {
    expect(serviceInfo(readConfig({})).accountPolicy).toEqual({
      deletionByUser: false,
      auditOnDeletion: 'erase',
      auditRetentionDays: 365,
      sessionMaxAge: 1_209_600,
    });
    expect(
      serviceInfo(
        readConfig({
          ACCOUNT_DELETION: 'adminToken,personalToken',
          AUDIT_ON_ACCOUNT_DELETION: 'pseudonymise',
          AUDIT_RETENTION_DAYS: '90',
          SESSION_MAX_AGE_S: '3600',
        }),
      ).accountPolicy,
    ).toEqual({ deletionByUser: true, auditOnDeletion: 'pseudonymise', auditRetentionDays: 90, sessionMaxAge: 3600 });
  });
});
