/**
 * "Is this address in the configured networks?", for the rules that decide on a TCP peer or a
 * forwarded hop: written once, because which text counts as an address is security-relevant.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { CorporalError } from '../errors.js';
import type { CidrNetwork } from './cidr.js';

/** Addresses in any of a list of networks. */
export class NetworkSet {
  readonly #networks = new BlockList();

  /**
   * `texts` as `parse` reads them (`parseCidr`, `parseNetwork`). An entry it refuses throws a
   * `CORP_ERR_CONFIG_INVALID` error naming `configKey` and saying it is not `expected` (the config
   * loader has refused such entries already; this guards other callers).
   */
  constructor(texts: readonly string[], parse: (text: string) => CidrNetwork | null, configKey: string, expected: string) {
    for (const text of texts) {
      const network = parse(text);
      if (network === null) {
        throw new CorporalError('CORP_ERR_CONFIG_INVALID', `${configKey}: ${JSON.stringify(text)} is not ${expected}`, { source: 'config' });
      }
      this.#networks.addSubnet(network.address, network.prefix, network.family);
    }
  }

  /**
   * True when `address` is an IP address in one of the networks. IPv4-mapped IPv6 addresses
   * (`::ffff:10.0.0.1`) match as the IPv4 address they carry (`net.BlockList` does this in both
   * directions). Text that is not an IP address (a host name, `unknown`, a zone) is in none.
   */
  has(address: string): boolean {
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
    return family !== null && this.#networks.check(address, family);
  }
}
