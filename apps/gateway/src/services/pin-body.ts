import type { ContentPin } from '@relocation/db';

/** A pin as the API shows it (`ContentPin` in the OpenAPI document): dates as ISO strings. */
export function pinBodyOf(pin: ContentPin) {
  return {
    level: pin.level,
    until: pin.until?.toISOString() ?? null,
    reason: pin.reason,
    pinnedBy: pin.pinnedBy,
    pinnedAt: pin.pinnedAt.toISOString(),
  };
}
