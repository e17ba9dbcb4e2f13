// Installing the servers a benchmark compares against (Debian packages, as root), without
// leaving their own services running: if the install started a unit that was not running
// before, it is stopped and disabled again (the benchmark runs a private instance).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const log = (msg) => process.stdout.write(`${msg}\n`);

function systemdActive(unit) {
  if (!existsSync('/run/systemd/system')) return false;
  return spawnSync('systemctl', ['is-active', '--quiet', unit]).status === 0;
}

/**
 * opts: { packages, present() (true once installed), service (systemd name), units (to
 * disable), preseed (debconf lines) }.
 */
export function aptEnsure(opts) {
  if (opts.present()) return;
  if (process.getuid?.() !== 0) throw new Error(`${opts.service} is not installed; run as root, or install the Debian packages ${opts.packages.join(' ')}`);
  const wasActive = systemdActive(opts.service);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (opts.preseed) spawnSync('debconf-set-selections', { input: `${opts.preseed}\n`, env });
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...opts.packages], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  log(`installing ${opts.packages.join(' ')} (apt-get)`);
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    r = install();
  }
  if (r.status !== 0 || !opts.present()) throw new Error(`apt-get could not install ${opts.packages.join(' ')}`);
  if (!wasActive && systemdActive(opts.service)) {
    log(`stopping and disabling the ${opts.service} service the package started (the benchmark runs its own)`);
    spawnSync('systemctl', ['disable', '--now', ...(opts.units ?? [`${opts.service}.service`])], { stdio: 'ignore' });
  }
}
