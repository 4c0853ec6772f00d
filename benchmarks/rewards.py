"""Completions per second of `vlm_align.rewards.accuracy_reward` against `trl.rewards.accuracy_reward`.

Same 4,096 synthetic GRPO completions (512 problems x 8 generations, seeded), same machine, one run, batches of 64 as
a GRPO step would pass them, the two functions timed batch by batch in turn (so that load from other jobs on a shared
machine falls on both alike). Both are warmed up first on other inputs (imports, worker start).
Usage: python benchmarks/rewards.py [--n 4096] [--batch 64]"""
import argparse, os, random, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')

def golds_and_variants(rng, bare=False):
    "A gold answer, its equivalent forms, and a wrong answer. LaTeX golds are `$...$`-wrapped unless `bare`."
    gold, same, wrong = _gold(rng)
    if not bare and ('\\' in gold or 'x' in gold): gold = f'${gold}$'
    return gold, same, wrong

def _gold(rng):
    k = rng.choices(range(6), weights=[4, 2, 2, 1, 1, 1])[0]
    if k == 0: n = rng.randrange(2, 2000); return str(n), [str(n), f'{n}.0', f'{n}^\\circ'], [str(n + rng.randrange(1, 9))]
    if k == 1:
        p, q = rng.randrange(1, 60), rng.choice([61, 67, 71, 73, 79])
        return f'\\frac{{{p}}}{{{q}}}', [f'\\frac{{{p}}}{{{q}}}', f'\\dfrac{{{p}}}{{{q}}}', f'{p}/{q}'], [f'\\frac{{{p+1}}}{{{q}}}']
    if k == 2:
        p = rng.randrange(1, 999); return f'{p/4:g}', [f'{p/4:g}', f'\\frac{{{p}}}{{4}}'], [f'{p/4+1:g}']
    if k == 3:
        a, b = rng.randrange(2, 30), rng.choice([2, 3, 5, 7, 11])
        return f'{a}\\sqrt{{{b}}}', [f'{a}\\sqrt{{{b}}}', f'\\sqrt{{{a*a*b}}}'], [f'{a+1}\\sqrt{{{b}}}']
    if k == 4:
        d = rng.randrange(2, 30); return f'\\frac{{\\pi}}{{{d}}}', [f'\\frac{{\\pi}}{{{d}}}', f'\\pi/{d}'], [f'\\frac{{\\pi}}{{{d+1}}}']
    a = rng.randrange(2, 60); return f'x^2+{a}x', [f'x^2+{a}x', f'x(x+{a})'], [f'x^2-{a}x']

def make_inputs(n=4096, group=8, seed=0, unparseable=0.03, bare=False):
    "`n` completions (conversational, one boxed answer each or none) and their gold `solution`s."
    rng, completions, solutions = random.Random(seed), [], []
    for _ in range(n // group):
        gold, same, wrong = golds_and_variants(rng, bare)
        if rng.random() < unparseable: gold = rng.choice(['see figure', 'none of these', 'A and B'])
        for _ in range(group):
            r, think = rng.random(), f"The angle at P is {rng.randrange(10, 80)} degrees, so we subtract it from 180."
            ans = rng.choice(same) if r < 0.45 else rng.choice(wrong) if r < 0.85 else None
            if ans is None: text = rng.choice([f"<think>{think}</think><answer>I am not sure.</answer>", "I cannot solve this.", ""])
            elif rng.random() < 0.5: text = f"<think>{think}</think><answer>The answer is $\\boxed{{{ans}}}$</answer>"
            else: text = f"{think} Therefore the final answer is $\\boxed{{{ans}}}$."
            completions.append([{"role": "assistant", "content": text}]); solutions.append(gold)
    return completions, solutions

def rates(f, g, completions, solutions, batch):
    "Scores and completions/s of `f` and `g`, timed batch by batch in turn (f g, g f, ...) so that a shared machine's load falls on both alike."
    scores, spent = ([], []), [0.0, 0.0]
    for k, i in enumerate(range(0, len(completions), batch)):
        for j in ((0, 1) if k % 2 == 0 else (1, 0)):
            t = time.perf_counter(); s = (f, g)[j](completions[i:i+batch], solution=solutions[i:i+batch]); spent[j] += time.perf_counter() - t
            scores[j].extend(s)
    return scores[0], len(completions) / spent[0], scores[1], len(completions) / spent[1]

def report(accuracy_reward, trl_accuracy, completions, solutions, batch, title):
    warm_c, warm_s = make_inputs(64, seed=1)
    t = time.perf_counter(); accuracy_reward(warm_c, solution=warm_s); ours_warm = time.perf_counter() - t
    trl_accuracy(warm_c, solution=warm_s)
    ours, ours_rate, theirs, trl_rate = rates(accuracy_reward, trl_accuracy, completions, solutions, batch)
    def whole(g):  # does math-verify's default parse (what trl uses) read the whole gold answer?
        p = parse(g, parsing_timeout=None); return bool(p) and p[-1].replace(' ', '') == g.strip('$').replace(' ', '')
    from math_verify import parse
    kind = {g: 'whole' if whole(g) else 'none' if theirs[solutions.index(g)] is None else 'part' for g in set(solutions)}
    print(f"{title}: {len(completions)} completions ({len(set(solutions))} distinct gold answers), batches of {batch}, {os.cpu_count()} CPU cores")
    print(f"trl.rewards.accuracy_reward      : {trl_rate:8.0f} completions/s")
    print(f"vlm_align.rewards.accuracy_reward: {ours_rate:8.0f} completions/s  ({ours_rate / trl_rate:.1f}x; worker start + warm-up {ours_warm:.1f}s, not timed)")
    for k, what in [('whole', 'gold parsed whole by math-verify'), ('part', "gold parsed only in part by trl (e.g. '2\\sqrt{5}' -> 2)"),
                    ('none', 'gold unparseable by trl')]:
        idx = [i for i, g in enumerate(solutions) if kind[g] == k]
        if not idx: continue
        same = sum(ours[i] == theirs[i] for i in idx)
        mean = lambda s: sum(s[i] for i in idx if s[i] is not None) / max(1, sum(s[i] is not None for i in idx))
        print(f"{what}: {len(idx)} completions, identical scores on {same}/{len(idx)}; "
              f"scored (not None) trl {sum(theirs[i] is not None for i in idx)}, ours {sum(ours[i] is not None for i in idx)}; "
              f"mean trl {mean(theirs):.3f}, ours {mean(ours):.3f}")
        for i in [i for i in idx if ours[i] != theirs[i]][:3 if k == 'whole' else 1]:
            print('   e.g.', repr(solutions[i]), repr(completions[i][0]['content'][-50:]), 'trl', theirs[i], 'ours', ours[i])

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=4096); ap.add_argument('--batch', type=int, default=64)
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    import logging; logging.disable(logging.WARNING)
    from trl.rewards import accuracy_reward as trl_accuracy
    from vlm_align.rewards import accuracy_reward
    report(accuracy_reward, trl_accuracy, *make_inputs(args.n), args.batch, 'golds as datasets write them ($...$ around LaTeX)')
    report(accuracy_reward, trl_accuracy, *make_inputs(1024, seed=2, bare=True), args.batch, 'bare-LaTeX golds (2\\sqrt{5}, \\frac{\\pi}{3}, x^2+3x without $...$)')
