import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { hardwareIdOf, machineHardwareId, uuidFromHash, type MachineSources } from './machine-id.js';

const UPPERCASE_UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

function machine(overrides: Partial<MachineSources> = {}): MachineSources {
  return {
    platform: 'linux',
    readFile: (path) => (path === '/etc/machine-id' ? 'b08dfa6083e7567a1921a715000001fb\n' : undefined),
    platformUuid: () => undefined,
    hostname: () => 'box',
    macs: () => ['aa:bb:cc:dd:ee:ff'],
    ...overrides,
  };
}

describe('machine hardware id', () => {
  test('is an uppercase UUID (v8 layout) and stable for the same machine', () => {
    const id = hardwareIdOf(machine());
    assert.match(id, UPPERCASE_UUID);
    assert.equal(hardwareIdOf(machine()), id);
  });

  test('does not reveal the machine id it comes from', () => {
    assert.ok(!hardwareIdOf(machine()).replaceAll('-', '').toLowerCase().includes('b08dfa60'));
  });

  test('differs between machines', () => {
    const other = machine({ readFile: (p) => (p === '/etc/machine-id' ? 'ffffffffffffffffffffffffffffffff' : undefined) });
    assert.notEqual(hardwareIdOf(other), hardwareIdOf(machine()));
  });

  test('falls back to the dbus machine id, then to host name and MAC addresses in any order', () => {
    const dbus = machine({ readFile: (p) => (p === '/var/lib/dbus/machine-id' ? 'b08dfa6083e7567a1921a715000001fb' : undefined) });
    assert.equal(hardwareIdOf(dbus), hardwareIdOf(machine()));
    const a = machine({ readFile: () => undefined, macs: () => ['aa:bb:cc:dd:ee:ff', '11:22:33:44:55:66'] });
    const b = machine({ readFile: () => undefined, macs: () => ['11:22:33:44:55:66', 'aa:bb:cc:dd:ee:ff'] });
    assert.match(hardwareIdOf(a), UPPERCASE_UUID);
    assert.equal(hardwareIdOf(a), hardwareIdOf(b));
    assert.notEqual(hardwareIdOf(a), hardwareIdOf(machine({ readFile: () => undefined, hostname: () => 'other' })));
  });

  test('on a Mac it is the IOPlatformUUID the Nexy app sends, uppercased', () => {
    const mac = machine({ platform: 'darwin', platformUuid: () => '5c8e9d4a-1b2c-4d3e-8f90-a1b2c3d4e5f6' });
    assert.equal(hardwareIdOf(mac), '5C8E9D4A-1B2C-4D3E-8F90-A1B2C3D4E5F6');
    const broken = machine({ platform: 'darwin', platformUuid: () => 'garbage' });
    assert.match(hardwareIdOf(broken), UPPERCASE_UUID);
  });

  test('uuidFromHash sets version and variant bits', () => {
    assert.equal(uuidFromHash(new Uint8Array(16).fill(0xff)), 'FFFFFFFF-FFFF-8FFF-BFFF-FFFFFFFFFFFF');
  });

  test('this machine has one', () => {
    assert.match(machineHardwareId(), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  });
});
