import { parseArgs } from 'node:util';
import { Estate } from '../simulator';
import { QIDS_PER_KNOWLEDGE_BASE_CALL, planLookup } from '../src/contracts/knowledge-base-lookup';
import { KnowledgeBaseRounds, startingRounds } from '../src/workflows/knowledge-base-rounds';

// `npm run bench:kb-rounds`: the KnowledgeBase round policy of a first run (empty QID → CVE cache) on the
// simulator's estate, without Qualys or a store: the pages arrive in order, each round ends before the
// next page arrives, and each round's lookup is planned as the activity plans it. Counts KnowledgeBase
// calls against the fewest, and the pages still waiting when the fetch pass ends (they are applied after
// the final lookup: the run's tail).

const USAGE = `npm run bench:kb-rounds -- [--hosts 20000,50000,100000] [--detections-per-host 3,30] [--page-size 1000] [--seed 42]`;

function main(): void {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '20000,50000,100000' },
      'detections-per-host': { type: 'string', default: '3,30' },
      'page-size': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '42' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const pageSize = Number(values['page-size']);
  const seed = Number(values.seed);
  console.log(
    '| hosts | detections per host | pages | new QIDs | KnowledgeBase calls (fewest) | run calls ÷ fewest | rounds | pages applied during the fetch pass | pages waiting at its end |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const hosts of values.hosts.split(',').map(Number)) {
    for (const detectionsPerHost of values['detections-per-host'].split(',').map(Number)) {
      console.log(simulate(new Estate({ hosts, seed, detectionsPerHost }), hosts, detectionsPerHost, pageSize));
    }
  }
}

function simulate(estate: Estate, hosts: number, detectionsPerHost: number, pageSize: number): string {
  const pagesTotal = Math.ceil(hosts / pageSize);
  const cache = new Set<string>();
  const qidsOf = new Map<number, string[]>();
  const rounds = new KnowledgeBaseRounds([], startingRounds(pagesTotal));
  let calls = 0;
  let roundsMade = 0;
  let appliedEarly = 0;
  const lookUp = (qids: readonly string[]): void => {
    calls += Math.ceil(qids.length / QIDS_PER_KNOWLEDGE_BASE_CALL);
    for (const q of qids) cache.add(q);
  };
  const unknownOf = (page: number): string[] => (qidsOf.get(page) ?? []).filter((q) => !cache.has(q));
  for (let page = 0; page < pagesTotal; page++) {
    const qids = new Set<string>();
    for (let index = page * pageSize; index < Math.min(hosts, (page + 1) * pageSize); index++) {
      for (const d of estate.detections(estate.host(index))) qids.add(String(d.qid));
    }
    qidsOf.set(page, [...qids]);
    if (rounds.arrived(page, unknownOf(page).length)) appliedEarly += 1;
    for (let round = rounds.startRound({ pagesFetched: page + 1, pagesTotal }); round; round = rounds.startRound({ pagesFetched: page + 1, pagesTotal })) {
      const planned = planLookup(round.waiting.map((p) => ({ page: p, qids: unknownOf(p) })), round.partial);
      lookUp(planned.qids);
      roundsMade += 1;
      appliedEarly += rounds.finishRound(round, { lookedUp: planned.qids.length, known: planned.known, unknownQids: planned.unknownQids }).length;
    }
  }
  const waitingAtTheEnd = rounds.waiting.length;
  lookUp([...new Set(rounds.waiting.flatMap(unknownOf))]);
  const fewestKnowledgeBaseCalls = Math.ceil(cache.size / QIDS_PER_KNOWLEDGE_BASE_CALL);
  // The rest of a first run's fewest calls: 3 credential probes, the host ID list, 3 calls per page.
  const rest = 4 + 3 * pagesTotal;
  const ratio = (rest + calls) / (rest + fewestKnowledgeBaseCalls);
  const n = (v: number): string => v.toLocaleString('en-US');
  return `| ${n(hosts)} | ${detectionsPerHost} | ${pagesTotal} | ${n(cache.size)} | ${calls} (${fewestKnowledgeBaseCalls}) | ${ratio.toFixed(3)} | ${roundsMade} | ${appliedEarly} | ${waitingAtTheEnd} |`;
}

main();
