#!/usr/bin/env bun
/**
 * The executable's entry. It imports nothing itself: the release build splits the bundle at each
 * dynamic `import()` and loads a part only when it runs, so each kind of exec pays for its own part
 * alone (measured: the arguments' parser, the help text and the version, imported here statically,
 * cost the kubelet's exec 0.13 M instructions it never used). `--version` and `--help` are answered
 * by `cli/quickAnswer.ts`; the kubelet's exec (no arguments) tries the warm answer (`cli/warm.ts`);
 * every other invocation, and a warm answer that cannot be given, loads the rest (`cli/processMain.ts`).
 */

// The exec's deadline counts from here: a warm exec that waits for another one spends part of it.
const startedAtMs = Date.now();
const argv = process.argv.slice(2);
if (argv.length > 0 && (await import('./cli/quickAnswer.ts')).answeredQuickly(argv)) process.exit(0);
// The kubelet's exec, answered as an earlier one was when nothing that decided that answer changed.
const warm = argv.length === 0 ? await (await import('./cli/warm.ts')).tryWarmAnswer(argv, startedAtMs) : undefined;
if (warm?.answered === true) process.exit(0);
const { runProcess } = await import('./cli/processMain.ts');
const status = await runProcess(argv, { stdin: warm?.stdin, startedAtMs });
// Only now, with the answer kept: the execs waiting for this one are woken to serve it.
await warm?.lead?.release();
// Exit explicitly: idle keep-alive sockets must not hold the kubelet's exec open. Stdout has drained.
process.exit(status);
