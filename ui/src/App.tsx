import { Alert, Box, CircularProgress } from '@mui/material';
import DashboardIcon from '@mui/icons-material/Dashboard';
import DnsIcon from '@mui/icons-material/Dns';
import LockIcon from '@mui/icons-material/Lock';
import LanguageIcon from '@mui/icons-material/Language';
import SwapHorizIcon from '@mui/icons-material/SwapHoriz';
import RouterIcon from '@mui/icons-material/Router';
import NetworkPingIcon from '@mui/icons-material/NetworkPing';
import ListAltIcon from '@mui/icons-material/ListAlt';
import ComputerIcon from '@mui/icons-material/Computer';
import StreamIcon from '@mui/icons-material/Stream';
import ReportIcon from '@mui/icons-material/Report';
import { useEffect, useMemo, useState } from 'react';
import { Route } from 'react-router-dom';
import { Admin, CustomRoutes, Layout, Menu, Resource, type LayoutProps } from 'react-admin';
import { getToken } from './api';
import { authProvider } from './authProvider';
import { Agents } from './Agents';
import { Dashboard } from './Dashboard';
import { dataProvider } from './dataProvider';
import { Live } from './Live';
import { Login } from './Login';
import { makeList, makeShow } from './resources';
import { loadSchema, type Schema } from './schema';

const ICONS: Record<string, typeof DnsIcon> = {
  flow: SwapHorizIcon, dns: DnsIcon, tls: LockIcon, http: LanguageIcon, arp: RouterIcon,
  icmp: NetworkPingIcon, packet: ListAltIcon, agent: ComputerIcon, rejects: ReportIcon,
};
const ORDER = ['flow', 'dns', 'tls', 'http', 'icmp', 'arp', 'packet', 'agent', 'rejects'];

function AppMenu() {
  return (
    <Menu>
      <Menu.DashboardItem leftIcon={<DashboardIcon />} />
      <Menu.ResourceItems />
      <Menu.Item to="/agents" primaryText="Agents" leftIcon={<ComputerIcon />} />
      <Menu.Item to="/live" primaryText="Live" leftIcon={<StreamIcon />} />
    </Menu>
  );
}

function AppLayout(props: LayoutProps) {
  return <Layout {...props} menu={AppMenu} />;
}

export function App() {
  const [schema, setSchema] = useState<Schema>();
  const [error, setError] = useState<string>();
  const [tokenSeen, setTokenSeen] = useState(getToken());

  // The schema needs a token: load it once signed in (and again after a new sign-in).
  useEffect(() => {
    const t = setInterval(() => setTokenSeen(getToken()), 500);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    if (!tokenSeen) return;
    loadSchema()
      .then((s) => {
        setSchema(s);
        setError(undefined);
      })
      .catch((e: Error) => setError(e.message));
  }, [tokenSeen]);

  const resources = useMemo(() => {
    const all = schema?.resources ?? [];
    const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
    return [...all].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  }, [schema]);

  if (tokenSeen && !schema && !error) {
    return (
      <Box sx={{ p: 6, textAlign: 'center' }}>
        <CircularProgress />
      </Box>
    );
  }
  return (
    <>
      {error && tokenSeen && <Alert severity="error">Could not load the event schema: {error}</Alert>}
      <Admin
        title="Tapir"
        dataProvider={dataProvider}
        authProvider={authProvider}
        loginPage={Login}
        dashboard={Dashboard}
        layout={AppLayout}
        requireAuth
        disableTelemetry
      >
        {resources.map((r) => (
          <Resource
            key={r.name}
            name={r.name}
            options={{ label: r.name === 'agent' ? 'agent reports' : r.name === 'rejects' ? 'rejected data' : r.name.toUpperCase() }}
            icon={ICONS[r.name]}
            list={makeList(r)}
            show={makeShow(r, resources)}
          />
        ))}
        <CustomRoutes>
          <Route path="/agents" element={<Agents />} />
          <Route path="/live" element={<Live />} />
        </CustomRoutes>
      </Admin>
    </>
  );
}
