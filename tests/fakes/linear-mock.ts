import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { addMocksToSchema, createMockStore, type IMockStore, type IMocks, isRef } from '@graphql-tools/mock';
import {
  buildSchema,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isObjectType,
  isScalarType,
  specifiedScalarTypes,
} from 'graphql/index.js';

/** What each field resolver sees as `context`: the request as it was sent. */
export interface LinearRequestContext {
  query: string;
  variables: Record<string, unknown>;
}

export interface LinearMutation {
  /** The root field: `commentCreate`, `agentActivityCreate`, … */
  name: string;
  variables: Record<string, unknown>;
  query: string;
}

export type MutationResolver = (variables: Record<string, unknown>, args: Record<string, unknown>) => unknown;

export interface LinearMock {
  /** The executable schema: every field answers from the store, generated when not pinned. */
  schema: GraphQLSchema;
  store: IMockStore;
  pin(typeName: string, id: string, fields: Record<string, unknown>): void;
  override(mutationName: string, resolver: MutationResolver): void;
}

type Resolver = GraphQLFieldResolver<unknown, LinearRequestContext>;
type Entity = Record<string, unknown>;

const schemas = new Map<string, Promise<GraphQLSchema>>();

/** Linear's schema file is 1.2 MB and takes most of a second to build, so each path is built once. */
export function loadLinearSchema(path: string): Promise<GraphQLSchema> {
  let schema = schemas.get(path);
  if (!schema) {
    // assumeValidSDL: the file is Linear's own published schema; validating it costs time, finds nothing.
    schema = readFile(path, 'utf8').then((sdl) => buildSchema(sdl, { assumeValidSDL: true }));
    schemas.set(path, schema);
  }
  return schema;
}

/**
 * Values the SDK's model classes can parse: dates as ISO strings (they go through `new Date`),
 * JSON as objects, every payload `success: true`, and connections that say there is no next page
 * (so that a caller paging through them stops).
 */
function defaultMocks(schema: GraphQLSchema): IMocks {
  const now = () => new Date().toISOString();
  const today = () => now().slice(0, 10);
  const scalars: Record<string, () => unknown> = {
    ID: () => randomUUID(),
    UUID: () => randomUUID(),
    Int: () => 1 + Math.floor(Math.random() * 100),
    DateTime: now,
    DateTimeOrDuration: now,
    TimelessDate: today,
    TimelessDateOrDuration: today,
    Duration: () => 'P1W',
    JSON: () => ({}),
    JSONObject: () => ({}),
  };
  const builtIn = new Set(specifiedScalarTypes.map((t) => t.name));
  const mocks: IMocks = { ...scalars, PageInfo: () => ({ hasNextPage: false, hasPreviousPage: false }) };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || type.name in mocks) continue;
    // The remaining custom scalars are notification type names (`IssueMentionNotificationType`).
    if (isScalarType(type) && !builtIn.has(type.name)) mocks[type.name] = () => lowerFirst(type.name);
    if (isObjectType(type) && type.getFields().success) mocks[type.name] = () => ({ success: true });
  }
  return mocks;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1).replace(/NotificationType$/, '');
}

function isEntity(value: unknown): value is Entity {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Wrappers {
  byId(typeName: string): Resolver;
  pinnedAware(original: Resolver): Resolver;
  mutation(original: Resolver, field: GraphQLField<unknown, LinearRequestContext>): Resolver;
}

/** Replaces the mock's resolvers in place: root `id` lookups, mutations, pinned fields elsewhere. */
function wrapResolvers(schema: GraphQLSchema, wrap: Wrappers): void {
  const queryType = schema.getQueryType();
  const mutationType = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      const original = (field.resolve ?? (() => undefined)) as Resolver;
      if (type === mutationType) {
        field.resolve = wrap.mutation(original, field);
      } else if (type !== queryType) {
        field.resolve = wrap.pinnedAware(original);
      } else if (field.args.some((arg) => arg.name === 'id') && isObjectType(getNullableType(field.type))) {
        // `issue(id:)` answers one object; `userSessions(id:)` answers a list and stays generated.
        field.resolve = wrap.byId(getNamedType(field.type).name);
      }
    }
  }
}

/**
 * A schema-driven mock of Linear's API over a `MockStore`. Pinned objects are store entries: a root
 * field that takes an `id` (`issue`, `team`, `agentSession`, `comment`, …) answers the entry with
 * that id, an issue also by its `identifier`; a pinned field answers what was pinned whatever its
 * arguments (`comments(first: 50)` is the pinned connection, not a fresh one per argument set).
 */
export function createLinearMock(
  base: GraphQLSchema,
  record: (mutation: LinearMutation) => void,
): LinearMock {
  const store = createMockStore({ schema: base, mocks: defaultMocks(base) });
  const schema = addMocksToSchema({ schema: base, store });
  const pinnedFields = new Map<string, Set<string>>();
  const pins = new Map<string, Map<string, Entity>>();
  const overrides = new Map<string, MutationResolver>();

  function markPinned(typeName: string, key: string, fields: Entity): void {
    const id = `${typeName}:${key}`;
    const names = pinnedFields.get(id) ?? new Set<string>();
    for (const name of Object.keys(fields)) names.add(name);
    pinnedFields.set(id, names);
    for (const [name, value] of Object.entries(fields)) {
      const values = Array.isArray(value) ? value : [value];
      if (!values.some(isEntity)) continue;
      const stored = store.get(typeName, key, name);
      const refs = Array.isArray(stored) ? stored : [stored];
      refs.forEach((ref, i) => {
        const nested = values[i];
        if (isRef(ref) && isEntity(nested)) markPinned(ref.$ref.typeName, String(ref.$ref.key), nested);
      });
    }
  }

  function findPinnedKey(typeName: string, id: string): string | undefined {
    const ofType = pins.get(typeName);
    if (!ofType) return undefined;
    if (ofType.has(id)) return id;
    for (const [key, fields] of ofType) if (fields.identifier === id) return key;
    return undefined;
  }

  const byId =
    (typeName: string): Resolver =>
    (_source, args) => {
      const id = String(args.id);
      return store.get(typeName, findPinnedKey(typeName, id) ?? id);
    };

  const pinnedAware =
    (original: Resolver): Resolver =>
    (source, args, context, info) => {
      if (isRef(source) && Object.keys(args).length > 0) {
        const { typeName, key } = source.$ref;
        if (pinnedFields.get(`${typeName}:${key}`)?.has(info.fieldName)) {
          return store.get(typeName, key, info.fieldName);
        }
      }
      return original(source, args, context, info);
    };

  const answerMutation = async (
    field: GraphQLField<unknown, LinearRequestContext>,
    original: Resolver,
    ...call: Parameters<Resolver>
  ): Promise<unknown> => {
    const [source, args, context, info] = call;
    const override = overrides.get(info.fieldName);
    if (!override) return original(source, args, context, info);
    const value = await override(context.variables, args);
    const type = getNamedType(field.type);
    if (value === undefined) return original(source, args, context, info);
    if (!isObjectType(type) || !isEntity(value) || isRef(value)) return value;
    const key = typeof value.id === 'string' ? value.id : randomUUID();
    store.set(type.name, key, value);
    return store.get(type.name, key);
  };

  // Like Linear, a create that names its own `input.id` makes that entity once; a repeat is refused.
  const createdIds = new Set<string>();
  const mutation =
    (original: Resolver, field: GraphQLField<unknown, LinearRequestContext>): Resolver =>
    async (source, args, context, info) => {
      const input = isEntity(args.input) ? args.input : {};
      const id = info.fieldName.endsWith('Create') && typeof input.id === 'string' ? input.id : undefined;
      if (id && createdIds.has(id)) throw new Error(`Entity already exists: ${id}`);
      record({ name: info.fieldName, variables: context.variables, query: context.query });
      const answer = await answerMutation(field, original, source, args, context, info);
      if (id) createdIds.add(id);
      return answer;
    };

  wrapResolvers(schema, { byId, pinnedAware, mutation });

  return {
    schema,
    store,
    pin(typeName, id, fields) {
      store.set(typeName, id, fields);
      markPinned(typeName, id, fields);
      const ofType = pins.get(typeName) ?? new Map<string, Entity>();
      ofType.set(id, { ...ofType.get(id), ...fields });
      pins.set(typeName, ofType);
      // There is one organization: `organization` (no arguments) answers the pinned one.
      if (typeName === 'Organization') store.set('Query', 'ROOT', 'organization', { id });
    },
    override(mutationName, resolver) {
      overrides.set(mutationName, resolver);
    },
  };
}
