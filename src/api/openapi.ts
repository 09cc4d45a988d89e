/** The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json (no token needed). */
import { VERSION } from '../version.ts';

const error = { $ref: '#/components/schemas/Error' };
const errors = {
  '401': { description: 'no valid bearer token', content: { 'application/json': { schema: error } } },
  '403': { description: 'the token lacks the role', content: { 'application/json': { schema: error } } },
  '404': { description: 'unknown job or operation', content: { 'application/json': { schema: error } } },
};
const operation = { 'application/json': { schema: { type: 'object', properties: { operation: { $ref: '#/components/schemas/Operation' } } } } };
const jobParam = { name: 'job', in: 'path', required: true, schema: { type: 'string' } };

export const openapi = {
  openapi: '3.1.0',
  info: { title: 'Lifeboat on-call API', version: VERSION, description: 'Jobs, snapshots, drill reports, and backups, restores and drills as operations. Roles: viewer (read), operator (read and act).' },
  servers: [{ url: '/api/v1' }],
  security: [{ bearer: [] }],
  paths: {
    '/jobs': {
      get: {
        summary: 'Every job with schedule, next run, objectives, recovery point, per-site state, and its status against the objectives: ok, at-risk (80% used), breached, unknown or none (viewer)',
        responses: { '200': { description: 'jobs' }, ...errors },
      },
    },
    '/whoami': { get: { summary: 'The name and role of the calling token (viewer)', responses: { '200': { description: '{name, role}' }, ...errors } } },
    '/operations': {
      get: {
        summary: 'Recent operations, newest first; kept in memory until the daemon restarts (viewer)',
        parameters: [
          { name: 'job', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        ],
        responses: { '200': { description: '{operations: Operation[]}' }, ...errors },
      },
    },
    '/jobs/{job}/snapshots': {
      get: { summary: 'Committed snapshots across the job\'s sites (viewer)', parameters: [jobParam], responses: { '200': { description: 'snapshots' }, ...errors } },
    },
    '/jobs/{job}/backups': {
      post: { summary: 'Start a backup now; coalesced with one already queued or running (operator)', parameters: [jobParam], responses: { '202': { description: 'queued', content: operation }, ...errors } },
    },
    '/jobs/{job}/restores': {
      post: {
        summary: 'Restore a snapshot into a target (operator)',
        parameters: [jobParam],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                required: ['target'],
                properties: {
                  target: { type: 'string', description: 'a directory, a database URL or a file, as the job\'s source expects' },
                  snapshot: { type: 'string', default: 'latest' },
                  site: { type: 'string' },
                  force: { type: 'boolean' },
                  clean: { type: 'boolean' },
                  noOwner: { type: 'boolean' },
                  jobs: { type: 'integer', minimum: 1, maximum: 64 },
                  globals: { type: 'boolean' },
                },
              },
            },
          },
        },
        responses: {
          '202': { description: 'queued', content: operation },
          '400': { description: "invalid body, a site not of the job, or a target a restore must not write (the job's live source, a site's folder)", content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    '/jobs/{job}/drills': {
      get: { summary: 'Drill reports of the job, newest first (viewer)', parameters: [jobParam], responses: { '200': { description: 'drill reports' }, ...errors } },
      post: {
        summary: 'Start a restore drill now; coalesced with one already queued or running (operator)',
        parameters: [jobParam],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: { type: 'object', additionalProperties: false, properties: { snapshot: { type: 'string', default: 'latest' }, site: { type: 'string' } } },
            },
          },
        },
        responses: {
          '202': { description: 'queued', content: operation },
          '400': { description: 'invalid body', content: { 'application/json': { schema: error } } },
          '409': { description: 'the job has no drill section', content: { 'application/json': { schema: error } } },
          ...errors,
        },
      },
    },
    '/operations/{id}': {
      get: {
        summary: 'State, progress and result of an operation (viewer)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'the operation', content: operation }, ...errors },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the config stores only the SHA-256 of each token' } },
    schemas: {
      Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
      Operation: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          kind: { enum: ['backup', 'restore', 'drill'] },
          job: { type: 'string' },
          reason: { type: 'string' },
          state: { enum: ['queued', 'running', 'succeeded', 'failed'] },
          queuedAt: { type: 'string', format: 'date-time' },
          startedAt: { type: 'string', format: 'date-time' },
          finishedAt: { type: 'string', format: 'date-time' },
          progress: { type: 'object', properties: { bytes: { type: 'integer' }, totalBytes: { type: 'integer' }, phase: { type: 'string' } } },
          result: {},
          error: { type: 'string' },
        },
      },
    },
  },
} as const;
