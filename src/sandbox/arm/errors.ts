/** An ARM error response: `{ error: { code, message } }` with the HTTP status Azure uses for it. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ArmError';
  }

  get body(): ArmErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export interface ArmErrorBody {
  error: { code: string; message: string };
}

export const badRequest = (code: string, message: string) => new ArmError(400, code, message);

export const conflict = (code: string, message: string) => new ArmError(409, code, message);

export const notFound = (type: string, name: string, resourceGroup: string) =>
  new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );

export const methodNotAllowed = (method: string) =>
  new ArmError(405, 'MethodNotAllowed', `The HTTP method '${method}' is not supported for this resource.`);

export const noRoute = (path: string) =>
  new ArmError(404, 'NotFound', `No ARM route in the sandbox emulator matches '${path}'.`);

/** Azure's default error code per status, for injected faults that name no code. */
export function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'AuthenticationFailed',
    403: 'AuthorizationFailed',
    404: 'ResourceNotFound',
    409: 'Conflict',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? `Http${status}`;
}
