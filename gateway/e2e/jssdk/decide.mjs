// Decides flags with the real Optimizely JavaScript SDK on a datafile, for
// gateway/e2e's agreement test. Reads {"datafile": "<json>", "flags": [...],
// "users": [{"id": ..., "attributes": {...}}]} on stdin; writes one JSON
// array of decisions per user (in "flags" order) on stdout. No event is
// sent: there is no event processor and every decide disables its event.
import { createInstance, createStaticProjectConfigManager, OptimizelyDecideOption } from '@optimizely/optimizely-sdk';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const client = createInstance({
  projectConfigManager: createStaticProjectConfigManager({ datafile: input.datafile }),
  logger: undefined,
});
await client.onReady({ timeout: 10000 });

const out = input.users.map((u) => {
  const user = client.createUserContext(u.id, u.attributes);
  return input.flags.map((key) => {
    const d = user.decide(key, [OptimizelyDecideOption.DISABLE_DECISION_EVENT]);
    return { variationKey: d.variationKey ?? '', enabled: d.enabled, ruleKey: d.ruleKey ?? '', variables: d.variables };
  });
});
process.stdout.write(JSON.stringify(out));
client.close();
