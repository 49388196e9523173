import type { Brand } from '../../common/look';
import type { MailContent } from '../../mail/mail-render';

/** The messages of accounts.service.ts. A tenant's own name is quoted and attributed (as on the pages), never our sentence's subject. */
export function invitationMail(v: { brand: Brand | null; tenantName: string; link: string; slug: string }): MailContent {
  return {
    subject: 'You are invited to sign in',
    brand: v.brand,
    heading: 'Set your password',
    paragraphs: [
      `You have been invited to sign in to the analytics of your organization (“${v.brand?.name ?? v.tenantName}”).`,
      `Choose a password with the link below; you are then signed in. Later, sign in with the organization “${v.slug}” and this email address.`,
    ],
    action: { label: 'Set your password', url: v.link },
    note: 'The link works once, for 72 hours. If you did not expect this invitation, ignore this message.',
  };
}

export function resetMail(v: { brand: Brand | null; link: string; slug: string }): MailContent {
  return {
    subject: 'Reset your password',
    brand: v.brand,
    heading: 'Reset your password',
    paragraphs: [`Someone asked to reset the password of this email address for the organization “${v.slug}”. Choose a new one with the link below.`],
    action: { label: 'Choose a new password', url: v.link },
    note: 'The link works once, for 30 minutes, and signs you out everywhere. If you did not ask for it, ignore this message: your password stays as it is.',
  };
}

export function passwordChangedMail(v: { brand: Brand | null }): MailContent {
  return {
    subject: 'Your password was changed',
    brand: v.brand,
    heading: 'Your password was changed',
    paragraphs: ['The password of this email address was just changed from its account page, and its other sessions were ended.'],
    note: 'If this was not you, use "Forgot password?" on the sign-in page at once and tell your organization.',
  };
}
