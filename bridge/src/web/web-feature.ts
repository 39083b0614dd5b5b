/**
 * The web page as a feature: on whenever the HTTP server is (http.listen) and
 * web.enabled; read-only without web.token.
 */
import type { Feature, FeatureDefinition } from '../core/feature';
import { KEEP_MS, WebPage } from './web-page';

export const webFeature: FeatureDefinition = {
  name: 'web',
  enabled: (c) => c.web.enabled && c.http.listen !== '',
  create(core): Feature {
    // Asked at once, not in start(): a sink confirming something while an earlier feature's
    // start awaits would otherwise delete the history the previous run kept.
    core.spool.keepHistory(KEEP_MS);
    const page = new WebPage(core, { token: core.config.web.token });
    return {
      async start() {
        page.route(core.http);
        await page.start();
        core.log.info(`web page on the HTTP server's /${core.config.web.token ? '' : ' (read-only: no web.token)'}`);
      },
      stop() {
        page.close();
      },
    };
  },
};
