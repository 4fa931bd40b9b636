/**
 * The networks of sandboxes that have one, and the host firewall rules that keep them off
 * the worker's host and inner networks. Two Docker networks per Docker host:
 *
 * - `<name>-egress` (allow-list mode): `--internal`, so Docker gives it no route out at
 *   all; its only reachable address is the egress proxy on the bridge's gateway, which
 *   applies each sandbox's allow-list (egress/proxy.ts). The sandbox gets HTTP(S)_PROXY.
 * - `<name>-open` (network enabled without a list): routed out through NAT as before, but
 *   the FORWARD rules drop every forbidden destination (egress/destinations.ts) and the
 *   INPUT rules drop everything the sandbox sends to the host itself.
 *
 * On both, containers cannot talk to each other (icc off). The rules live in two chains of
 * their own (`SIMLAB-IN` from INPUT, `SIMLAB-FWD` from DOCKER-USER), added idempotently,
 * so several workers on one host share them. Needs root on the Docker host, like the home
 * disks. IPv6 is not enabled on these networks, so there is nothing to filter there.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { parseEgressRule } from '../../domain/egressPattern';
import { destinationPolicy, FORBIDDEN_V4_CIDRS, hostNetworks, type HostNetworks } from '../../egress/destinations';
import { EgressProxy, type SourcePolicy } from '../../egress/proxy';
import { LABELS } from './labels';

const run = promisify(execFile);

/** The sandbox's allow-list (JSON), fixed at creation where the agent cannot change it. */
export const EGRESS_LABEL = 'simlab.egress.allow';

const CHAIN_IN = 'SIMLAB-IN';
const CHAIN_FWD = 'SIMLAB-FWD';

export interface SandboxNetworksOptions {
  /** Prefix of the two networks' names (default `simlab`). */
  name?: string;
  /** Prefix of their bridge interfaces, at most 11 characters (default `simlab`). */
  bridge?: string;
  /** The egress proxy's port on the internal network's gateway. */
  proxyPort?: number;
  /** The host's addresses and networks, refused in every mode (default: read from its interfaces now). */
  host?: HostNetworks;
  /** How the proxy resolves names (default: the host's resolver). */
  lookup?: (host: string) => Promise<string[]>;
  log?: (line: string) => void;
}

export interface NetworkPlan {
  networkMode: string;
  env: Record<string, string>;
  labels: Record<string, string>;
}

interface Ready {
  egress: string;
  open: string;
  gateway: string;
}

export class SandboxNetworks {
  readonly egressName: string;
  readonly openName: string;
  private readonly bridges: { egress: string; open: string };
  private readonly port: number;
  private readonly host: HostNetworks;
  private readonly proxy: EgressProxy;
  private ready: Promise<Ready> | undefined;
  private sources: { at: number; byIp: Map<string, SourcePolicy> } | undefined;
  private refreshing: Promise<Map<string, SourcePolicy>> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly opts: SandboxNetworksOptions = {},
  ) {
    const name = opts.name ?? 'simlab';
    const bridge = opts.bridge ?? 'simlab';
    if (bridge.length > 11) throw new Error(`bridge prefix '${bridge}' is longer than 11 characters`);
    this.egressName = `${name}-egress`;
    this.openName = `${name}-open`;
    this.bridges = { egress: `${bridge}-eg`, open: `${bridge}-op` };
    this.port = opts.proxyPort ?? 3128;
    this.host = opts.host ?? hostNetworks();
    this.proxy = new EgressProxy({
      sourcePolicy: (ip) => this.sourcePolicy(ip),
      destinations: destinationPolicy(this.host),
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
  }

  /** Sets up networks, rules and the proxy now (a worker at start); failures are retried on demand. */
  start(): Promise<void> {
    return this.ensure().then(
      () => undefined,
      (err: Error) => this.opts.log?.(`[egress] network policy not set up yet: ${err.message}`),
    );
  }

  /** How a sandbox joins the network its environment asks for. */
  async plan(network: { enabled: boolean; allow?: string[] }): Promise<NetworkPlan | null> {
    if (!network.enabled) return null;
    const ready = await this.ensure();
    await this.recheckRules();
    if (!network.allow) return { networkMode: ready.open, env: {}, labels: {} };
    const rules = network.allow.map(parseEgressRule);
    const proxy = `http://${ready.gateway}:${this.port}`;
    return {
      networkMode: ready.egress,
      env: { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: 'localhost,127.0.0.1', no_proxy: 'localhost,127.0.0.1' },
      labels: { [EGRESS_LABEL]: JSON.stringify(rules) },
    };
  }

  get proxyListening(): boolean {
    return this.proxy.listening;
  }

  async close(): Promise<void> {
    await this.proxy.close();
  }

  /** Takes the networks and their rules away (tests that made their own). */
  async remove(): Promise<void> {
    await this.close();
    for (const n of [this.egressName, this.openName]) await this.docker.getNetwork(n).remove().catch(() => undefined);
    for (const rule of await this.rules().catch(() => [])) await iptables('-D', ...rule).catch(() => undefined);
  }

  private ensure(): Promise<Ready> {
    this.ready ??= this.setUp().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async setUp(): Promise<Ready> {
    const egress = await this.network(this.egressName, this.bridges.egress, true);
    await this.network(this.openName, this.bridges.open, false);
    const gateway = egress.IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`Docker network ${this.egressName} has no gateway address for the egress proxy`);
    this.gateway = gateway;
    this.rulesCheckedAt = 0;
    await this.recheckRules();
    this.proxy.supervise(gateway, this.port, 5000, (err) => this.opts.log?.(`[egress] proxy cannot listen on ${gateway}:${this.port}: ${err.message}`));
    return { egress: this.egressName, open: this.openName, gateway };
  }

  private gateway: string | undefined;
  private rulesCheckedAt = 0;

  /**
   * A firewall reload (or a reboot under a running worker) drops rules that nothing else
   * would put back: before a sandbox joins, they are checked again, at most once a minute.
   */
  private async recheckRules(): Promise<void> {
    if (Date.now() - this.rulesCheckedAt < 60_000) return;
    await iptables('-N', CHAIN_IN).catch(alreadyExists);
    await iptables('-N', CHAIN_FWD).catch(alreadyExists);
    await ensureRule('INPUT', ['-j', CHAIN_IN], true);
    await ensureRule('DOCKER-USER', ['-j', CHAIN_FWD], true);
    // The proxy's ACCEPT goes on top: it must precede its bridge's DROP whatever was there before.
    for (const [chain, ...spec] of await this.rules()) await ensureRule(chain!, spec, spec.at(-1) === 'ACCEPT');
    this.rulesCheckedAt = Date.now();
  }

  /** Every rule of this pair of networks, in order: the proxy's port first, the drops after. */
  private async rules(): Promise<string[][]> {
    const { egress, open } = this.bridges;
    const gw = this.gateway ?? (await this.docker.getNetwork(this.egressName).inspect()).IPAM?.Config?.[0]?.Gateway;
    if (!gw) throw new Error(`Docker network ${this.egressName} has no gateway address`);
    const drops = [...FORBIDDEN_V4_CIDRS, ...this.host.networks];
    return [
      [CHAIN_IN, '-i', egress, '-p', 'tcp', '-d', gw, '--dport', String(this.port), '-j', 'ACCEPT'],
      [CHAIN_IN, '-i', egress, '-j', 'DROP'],
      [CHAIN_IN, '-i', open, '-j', 'DROP'],
      [CHAIN_FWD, '-i', egress, '-j', 'DROP'],
      ...drops.map((cidr) => [CHAIN_FWD, '-i', open, '-d', cidr, '-j', 'DROP']),
    ];
  }

  private async network(name: string, bridge: string, internal: boolean): Promise<Docker.NetworkInspectInfo> {
    try {
      return await this.docker.getNetwork(name).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    await this.docker
      .createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: internal,
        CheckDuplicate: true,
        Options: { 'com.docker.network.bridge.name': bridge, 'com.docker.network.bridge.enable_icc': 'false' },
        Labels: { [LABELS.managed]: 'true' },
      })
      // Another worker on this host made it first.
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 409) throw err;
      });
    return this.docker.getNetwork(name).inspect();
  }

  /** The sandbox at `ip` on the egress network and its allow-list, read from Docker (cached 2 s). */
  async sourcePolicy(ip: string): Promise<SourcePolicy | null> {
    const fresh = this.sources && Date.now() - this.sources.at < 2000;
    const hit = fresh ? this.sources!.byIp.get(ip) : undefined;
    if (hit) return hit;
    this.refreshing ??= this.readSources().finally(() => (this.refreshing = undefined));
    return (await this.refreshing).get(ip) ?? null;
  }

  private async readSources(): Promise<Map<string, SourcePolicy>> {
    const found = await this.docker.listContainers({ filters: { network: [this.egressName], label: [`${LABELS.managed}=true`, EGRESS_LABEL] } });
    const byIp = new Map<string, SourcePolicy>();
    for (const c of found) {
      const ip = c.NetworkSettings?.Networks?.[this.egressName]?.IPAddress;
      const runId = c.Labels[LABELS.run];
      if (!ip || !runId) continue;
      try {
        byIp.set(ip, { runId, allow: JSON.parse(c.Labels[EGRESS_LABEL]!) });
      } catch {
        // Not a label simlab wrote: that sandbox gets nowhere.
      }
    }
    this.sources = { at: Date.now(), byIp };
    return byIp;
  }
}

function iptables(...args: string[]) {
  return run('iptables', ['-w', '5', ...args]);
}

function alreadyExists(err: Error): void {
  if (!/exists/i.test(err.message)) throw new Error(`iptables failed (the worker must run as root on the Docker host to filter sandbox egress): ${err.message}`);
}

async function ensureRule(chain: string, spec: string[], first: boolean): Promise<void> {
  const present = await iptables('-C', chain, ...spec).then(
    () => true,
    () => false,
  );
  if (!present) await (first ? iptables('-I', chain, '1', ...spec) : iptables('-A', chain, ...spec));
}
