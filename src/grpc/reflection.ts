import { readFileSync } from 'node:fs';
import type { PackageDefinition } from '@grpc/proto-loader';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** `repeated FileDescriptorProto file = 1` of google.protobuf.FileDescriptorSet. */
const FILE_FIELD = 1;

/**
 * Splits `buf build` images (FileDescriptorSets) into the serialized FileDescriptorProtos that
 * @grpc/reflection serves. We do not let proto-loader produce them: protobufjs writes relative
 * type names and drops `proto3_optional`, which strict clients (buf curl, grpcurl) reject with
 * "failed to find service". buf's compiler writes canonical descriptors.
 */
export function reflectionDefinition(imagePaths: readonly string[]): PackageDefinition {
  const files: Uint8Array[] = [];
  for (const path of imagePaths) {
    const reader = new BinaryReader(readFileSync(path));
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === FILE_FIELD && wireType === WireType.LengthDelimited) files.push(reader.bytes());
      else reader.skip(wireType);
    }
  }
  // The reflection service only reads `fileDescriptorProtos` of each entry.
  return { descriptors: { fileDescriptorProtos: files } } as unknown as PackageDefinition;
}
