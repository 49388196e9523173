import { isPublished, keyringRefreshMs, keyState } from './target-keys';

/** A key's life from its timestamps: published before it signs, published after it stops until its tokens expired. */
describe('signing key states', () => {
  const t = (s: number) => new Date(s * 1000);
  const key = { createdAt: t(0), signsFrom: t(4200), supersededAt: t(9000), unpublishAt: t(9300) };

  it.each([
    [0, 'next'],
    [4199, 'next'],
    [4200, 'active'],
    [8999, 'active'],
    [9000, 'retiring'],
    [9299, 'retiring'],
    [9300, 'retired'],
  ])('at %i s: %s', (at, state) => {
    expect(keyState(key, at * 1000)).toBe(state);
    expect(isPublished(key, at * 1000)).toBe(state !== 'retired');
  });

  it('a key never superseded stays active', () => {
    expect(keyState({ ...key, supersededAt: null, unpublishAt: null }, 10 ** 12)).toBe('active');
  });

  it('processes re-read keys well inside the publication delay, at most every 30 s', () => {
    expect(keyringRefreshMs(4200)).toBe(30_000);
    expect(keyringRefreshMs(3)).toBe(750);
  });
});
