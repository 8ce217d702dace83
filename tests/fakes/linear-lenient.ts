import {
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  typeFromAST,
} from 'graphql/index.js';

/** A request made fit for a schema file that is older than the SDK that sent it. */
export interface LenientRequest {
  document: DocumentNode;
  variables: Record<string, unknown>;
  /** `$var` whose type the schema lacks, and `$var.path.field` input fields it does not define. */
  dropped: string[];
  /** `Mutation.x` / `Query.x` root fields the schema lacks: answered with an error, not silently. */
  unknownRootFields: string[];
}

/**
 * `execute` without `validate` already skips selections the schema lacks, but it still coerces
 * variables strictly: a variable of an unknown type (`EmojiFilter` in @linear/sdk 98) or an input
 * field newer than the file fails the whole request. This drops those, the way a field newer than
 * the file is left out of the answer; what was dropped is reported so that a test can see it.
 */
export function toLenientRequest(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
): LenientRequest {
  const dropped: string[] = [];
  const kept: Record<string, unknown> = {};
  const unknownRootFields: string[] = [];
  const definitions = document.definitions.map((def) => {
    if (def.kind !== Kind.OPERATION_DEFINITION) return def;
    unknownRootFields.push(...missingRootFields(schema, def));
    const variableDefinitions = (def.variableDefinitions ?? []).filter((varDef) => {
      const name = varDef.variable.name.value;
      const type = typeFromAST(schema, varDef.type);
      if (!type || !isInputType(type)) {
        dropped.push(`$${name}`);
        return false;
      }
      if (name in variables) kept[name] = prune(type, variables[name], `$${name}`, dropped);
      return true;
    });
    return { ...def, variableDefinitions } satisfies OperationDefinitionNode;
  });
  return { document: { ...document, definitions }, variables: kept, dropped, unknownRootFields };
}

function missingRootFields(schema: GraphQLSchema, op: OperationDefinitionNode): string[] {
  const root = schema.getRootType(op.operation);
  if (!root) return [op.operation];
  const fields = root.getFields();
  return op.selectionSet.selections
    .filter((sel) => sel.kind === Kind.FIELD && !sel.name.value.startsWith('__') && !fields[sel.name.value])
    .map((sel) => `${root.name}.${sel.kind === Kind.FIELD ? sel.name.value : ''}`);
}

function prune(type: GraphQLInputType, value: unknown, path: string, dropped: string[]): unknown {
  if (value === null || value === undefined) return value;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const items = Array.isArray(value) ? value : [value];
    return items.map((item, i) => prune(inner.ofType, item, `${path}.${i}`, dropped));
  }
  const named = getNamedType(inner);
  if (!isInputObjectType(named) || typeof value !== 'object') return value;
  const fields = named.getFields();
  const out: Record<string, unknown> = {};
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = fields[key];
    if (!field) {
      dropped.push(`${path}.${key}`);
      continue;
    }
    out[key] = prune(field.type, fieldValue, `${path}.${key}`, dropped);
  }
  return out;
}
