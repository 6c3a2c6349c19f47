/**
 * The notices a page shows after a form succeeds (pure). A redirect names one by its code
 * (`?notice=installed-staging`); a page prints only the text of a known code, so a link cannot
 * put words of its own in the platform's notice box.
 */
export const NOTICES = {
  "installed-development": "Installed into development: its endpoint is on your dashboard.",
  "installed-staging": "Installed into staging: its endpoint is on your dashboard.",
  "installed-production": "Installed into production: its endpoint is on your dashboard.",
  rated: "Thanks: your rating is saved.",
  "key-revoked": "The key is revoked.",
  disconnected: "Disconnected: its credentials are destroyed.",
  uninstalled: "Uninstalled.",
  upgraded: "The installation now runs the version you chose.",
  "version-approved": "The version is approved.",
  "version-rejected": "The version is rejected; the publisher sees your reason.",
  suspended: "The listing is suspended.",
  unsuspended: "The suspension is lifted: the listing is back in the marketplace.",
  purchased: "Bought: it is yours. Install it from its page.",
  "subscription-canceled": "Canceled: access continues to the end of the paid period.",
  replied: "Your reply is published under the review.",
} as const;

export type NoticeCode = keyof typeof NOTICES;

/** The text of a notice code, or nothing for any other value. */
export function noticeText(code: string | undefined): string | undefined {
  return code !== undefined && Object.hasOwn(NOTICES, code)
    ? NOTICES[code as NoticeCode]
    : undefined;
}

/** `path` with the notice's code in its query. */
export function withNotice(path: string, code: NoticeCode): string {
  return `${path}?notice=${code}`;
}
