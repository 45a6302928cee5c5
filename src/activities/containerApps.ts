import type { ContainerAppsAPIClient, Revision } from '@azure/arm-appcontainers';
import type { AppView, RevisionView } from '../domain/healthCheck';
import { arm } from './arm';

// Microsoft.App through the real SDK client; the same code talks to Azure and to the sandbox
// emulator, which differ only in endpoint, CA and credential (see worker.ts).

export interface ContainerAppsDeps {
  client: ContainerAppsAPIClient;
  /** Azure serves ingress over https; the sandbox's loopback ingress is http. */
  urlScheme: 'http' | 'https';
}

function url(scheme: string, fqdn: string | undefined): string | undefined {
  return fqdn ? `${scheme}://${fqdn}` : undefined;
}

function revisionView(r: Revision, scheme: string): RevisionView {
  const image = r.template?.containers?.[0]?.image;
  const view: RevisionView = {
    name: r.name ?? '?',
    active: r.active ?? false,
    trafficWeight: r.trafficWeight ?? 0,
  };
  if (r.runningState) view.runningState = r.runningState;
  if (r.healthState) view.healthState = r.healthState;
  if (r.provisioningState) view.provisioningState = r.provisioningState;
  if (image) view.image = image;
  const u = url(scheme, r.fqdn);
  if (u) view.url = u;
  return view;
}

export function createContainerAppsActivities({ client, urlScheme }: ContainerAppsDeps) {
  return {
    /** Read-only: the app and all its revisions, as the runbooks reason about them. */
    async readApp(input: { resourceGroup: string; app: string }): Promise<AppView> {
      const { resourceGroup, app } = input;
      const doc = await arm(`get container app ${app}`, () => client.containerApps.get(resourceGroup, app));
      const revisions = await arm(`list revisions of ${app}`, async () => {
        const out: RevisionView[] = [];
        for await (const r of client.containerAppsRevisions.listRevisions(resourceGroup, app)) {
          out.push(revisionView(r, urlScheme));
        }
        return out;
      });
      const view: AppView = {
        name: doc.name ?? app,
        resourceGroup,
        revisionMode: doc.configuration?.activeRevisionsMode ?? 'Single',
        revisions,
      };
      if (doc.latestRevisionName) view.latestRevisionName = doc.latestRevisionName;
      if (doc.provisioningState) view.provisioningState = doc.provisioningState;
      const ingress = url(urlScheme, doc.configuration?.ingress?.fqdn);
      if (ingress) view.ingressUrl = ingress;
      return view;
    },
  };
}
