/**
 * One frontend's in-memory view of the subscription directory: every entry by owner, client id and
 * filter, and a {@link RemoteIndex} for matching that holds the plain entries of other frontends and
 * the shared entries of every frontend (a shared group is reported with all its members). Changes are
 * idempotent (a put of an entry already there replaces it; a removal of one not there does nothing),
 * so replaying a change the view already reflects is harmless.
 */
import { RemoteIndex } from './remote-index.js';
import type { DirectoryOptions } from './directory-codec.js';

/** One subscription in the directory. */
export interface DirectoryEntry extends DirectoryOptions {
  readonly clientId: string;
  /** The frontend that owns the client's session. */
  readonly owner: string;
  /** The filter as subscribed (`$share/<group>/<filter>` too). */
  readonly filter: string;
}

/** See the file's comment. */
export class DirectoryView {
  private readonly owners = new Map<string, Map<string, Map<string, DirectoryEntry>>>();
  /** Client id → owners holding entries of it, the latest put last. */
  private readonly clientOwners = new Map<string, string[]>();
  private readonly index = new RemoteIndex<DirectoryEntry>();
  private count = 0;

  /** `self`: this frontend's id (its plain entries are not indexed for matching). */
  constructor(readonly self: string) {}

  /** Entries held, this frontend's included. */
  get size(): number {
    return this.count;
  }

  /** Trie nodes of the matching index (for tests of the bound). */
  get indexNodes(): number {
    return this.index.nodeCount;
  }

  /** Adds or replaces the entry of (owner, client id, filter). */
  put(entry: DirectoryEntry): void {
    let clients = this.owners.get(entry.owner);
    if (clients === undefined) {
      clients = new Map();
      this.owners.set(entry.owner, clients);
    }
    let filters = clients.get(entry.clientId);
    if (filters === undefined) {
      filters = new Map();
      clients.set(entry.clientId, filters);
    }
    const old = filters.get(entry.filter);
    if (old !== undefined) this.unindex(old);
    else this.count++;
    filters.set(entry.filter, entry);
    this.addToIndex(entry);
    const owners = this.clientOwners.get(entry.clientId);
    if (owners === undefined) this.clientOwners.set(entry.clientId, [entry.owner]);
    else if (owners[owners.length - 1] !== entry.owner) {
      const at = owners.indexOf(entry.owner);
      if (at !== -1) owners.splice(at, 1);
      owners.push(entry.owner);
    }
  }

  /** Removes the entry of (owner, client id, filter), if any. */
  delete(owner: string, clientId: string, filter: string): void {
    const clients = this.owners.get(owner);
    const filters = clients?.get(clientId);
    const entry = filters?.get(filter);
    if (clients === undefined || filters === undefined || entry === undefined) return;
    filters.delete(filter);
    this.unindex(entry);
    this.count--;
    if (filters.size === 0) this.forgetClient(owner, clients, clientId);
  }

  /** Removes every entry of the client under `owner`; returns them. */
  deleteClient(owner: string, clientId: string): DirectoryEntry[] {
    const clients = this.owners.get(owner);
    const filters = clients?.get(clientId);
    if (clients === undefined || filters === undefined) return [];
    const removed = [...filters.values()];
    for (const entry of removed) this.unindex(entry);
    this.count -= removed.length;
    this.forgetClient(owner, clients, clientId);
    return removed;
  }

  /** Removes every entry of `owner`. */
  deleteOwner(owner: string): void {
    const clients = this.owners.get(owner);
    if (clients === undefined) return;
    for (const clientId of [...clients.keys()]) this.deleteClient(owner, clientId);
  }

  /** The entries of `owner` (a copy). */
  entriesOf(owner: string): DirectoryEntry[] {
    const out: DirectoryEntry[] = [];
    for (const filters of this.owners.get(owner)?.values() ?? []) out.push(...filters.values());
    return out;
  }

  /** The client ids `owner` holds entries of (a copy). */
  clientsOf(owner: string): string[] {
    return [...(this.owners.get(owner)?.keys() ?? [])];
  }

  /** Whether `owner` holds an entry of the client. */
  holds(owner: string, clientId: string): boolean {
    return this.owners.get(owner)?.has(clientId) === true;
  }

  /** The owner of the client's latest entry, undefined when no frontend has one. */
  ownerOf(clientId: string): string | undefined {
    const owners = this.clientOwners.get(clientId);
    return owners?.[owners.length - 1];
  }

  /** See SubscriptionDirectory.match. */
  match(topic: string, onEntry: (e: DirectoryEntry) => void, onGroup: (group: string, topicFilter: string, members: readonly DirectoryEntry[]) => void): void {
    this.index.match(topic, {
      onValue: onEntry,
      onGroup: (group, topicFilter, members) => {
        if (members.some((member) => member.owner !== this.self)) onGroup(group, topicFilter, members);
      },
    });
  }

  private forgetClient(owner: string, clients: Map<string, Map<string, DirectoryEntry>>, clientId: string): void {
    clients.delete(clientId);
    if (clients.size === 0) this.owners.delete(owner);
    const owners = this.clientOwners.get(clientId);
    if (owners === undefined) return;
    const at = owners.indexOf(owner);
    if (at !== -1) owners.splice(at, 1);
    if (owners.length === 0) this.clientOwners.delete(clientId);
  }

  private indexed(entry: DirectoryEntry): boolean {
    return entry.owner !== this.self || entry.filter.startsWith('$share/');
  }

  private addToIndex(entry: DirectoryEntry): void {
    if (this.indexed(entry)) this.index.add(entry.filter, entry);
  }

  private unindex(entry: DirectoryEntry): void {
    if (this.indexed(entry)) this.index.remove(entry.filter, entry);
  }
}
