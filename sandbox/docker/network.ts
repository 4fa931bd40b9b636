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
 * so several workers on one host share them. Bridges keep the names Docker gives them
 * (`br-<network id>`): a fixed name collides when another Docker engine shares the host's
 * network namespace. Needs root on the Docker host, like the home disks. IPv6 is not
 * enabled on these networks, so there is nothing to filter there.
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
  gateway: string;
  bridges: { egress: string; open: string };
}

/**
 * How often the networks and rules are checked again before a sandbox joins: a firewall
 * reload, or a network removed and made anew (new bridge, new gateway), is repaired then.
 */
const RECHECK_MS = 60_000;

export class SandboxNetworks {
  readonly egressName: string;
  readonly openName: string;
  private readonly port: number;
  private readonly host: HostNetworks;
  private readonly proxy: EgressProxy;
  private ready: { at: number; state: Ready } | undefined;
  private checking: Promise<Ready> | undefined;
  private sources: { at: number; byIp: Map<string, SourcePolicy> } | undefined;
  private refreshing: Promise<Map<string, SourcePolicy>> | undefined;
  /** Bumped when a sandbox joins: a read started before it is not kept. */
  private generation = 0;

  constructor(
    private readonly docker: Docker,
    private readonly opts: SandboxNetworksOptions = {},
  ) {
    const name = opts.name ?? 'simlab';
    this.egressName = `${name}-egress`;
    this.openName = `${name}-open`;
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
    if (!network.allow) return { networkMode: this.openName, env: {}, labels: {} };
    const rules = network.allow.map(parseEgressRule);
    const proxy = `http://${ready.gateway}:${this.port}`;
    return {
      networkMode: this.egressName,
      env: { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: 'localhost,127.0.0.1', no_proxy: 'localhost,127.0.0.1' },
      labels: { [EGRESS_LABEL]: JSON.stringify(rules) },
    };
  }

  /**
   * A sandbox joined: what the proxy knows of source addresses is read again on the next
   * connection, so a new sandbox that got a departed one's address is never judged by the
   * departed one's list.
   */
  sandboxStarted(): void {
    this.sources = undefined;
    this.refreshing = undefined;
    this.generation++;
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
    const state = this.ready?.state;
    for (const n of [this.egressName, this.openName]) await this.docker.getNetwork(n).remove().catch(() => undefined);
    if (state) for (const rule of this.rules(state)) await iptables('-D', ...rule).catch(() => undefined);
  }

  private ensure(): Promise<Ready> {
    if (this.ready && Date.now() - this.ready.at < RECHECK_MS) return Promise.resolve(this.ready.state);
    this.checking ??= this.setUp().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async setUp(): Promise<Ready> {
    const egress = await this.network(this.egressName, true);
    const open = await this.network(this.openName, false);
    const gateway = egress.IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`Docker network ${this.egressName} has no gateway address for the egress proxy`);
    const state: Ready = { gateway, bridges: { egress: bridgeOf(egress), open: bridgeOf(open) } };
    await iptables('-N', CHAIN_IN).catch(alreadyExists);
    await iptables('-N', CHAIN_FWD).catch(alreadyExists);
    await ensureRule('INPUT', ['-j', CHAIN_IN], true);
    await ensureRule('DOCKER-USER', ['-j', CHAIN_FWD], true);
    // The proxy's ACCEPT goes on top: it must precede its bridge's DROP whatever was there before.
    for (const [chain, ...spec] of this.rules(state)) await ensureRule(chain!, spec, spec.at(-1) === 'ACCEPT');
    this.proxy.supervise(gateway, this.port, 5000, (err) => this.opts.log?.(`[egress] proxy cannot listen on ${gateway}:${this.port}: ${err.message}`));
    this.ready = { at: Date.now(), state };
    return state;
  }

  /** Every rule of this pair of networks: the proxy's port, then the drops. */
  private rules({ gateway, bridges }: Ready): string[][] {
    const { egress, open } = bridges;
    return [
      [CHAIN_IN, '-i', egress, '-p', 'tcp', '-d', gateway, '--dport', String(this.port), '-j', 'ACCEPT'],
      [CHAIN_IN, '-i', egress, '-j', 'DROP'],
      [CHAIN_IN, '-i', open, '-j', 'DROP'],
      [CHAIN_FWD, '-i', egress, '-j', 'DROP'],
      ...[...FORBIDDEN_V4_CIDRS, ...this.host.networks].map((cidr) => [CHAIN_FWD, '-i', open, '-d', cidr, '-j', 'DROP']),
    ];
  }

  private async network(name: string, internal: boolean): Promise<Docker.NetworkInspectInfo> {
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
        Options: { 'com.docker.network.bridge.enable_icc': 'false' },
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
    const read = (this.refreshing ??= this.readSources().finally(() => {
      if (this.refreshing === read) this.refreshing = undefined;
    }));
    return (await read).get(ip) ?? null;
  }

  private async readSources(): Promise<Map<string, SourcePolicy>> {
    const generation = this.generation;
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
    if (generation === this.generation) this.sources = { at: Date.now(), byIp };
    return byIp;
  }
}

/** The bridge interface of a Docker bridge network: its own option, or Docker's `br-<id>`. */
function bridgeOf(net: Docker.NetworkInspectInfo): string {
  return net.Options?.['com.docker.network.bridge.name'] ?? `br-${net.Id.slice(0, 12)}`;
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
