import { createRouter, createWebHistory } from 'vue-router'
import HomePage from './pages/HomePage.vue'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
  }
}

/** Home is in the first bundle; every other page is its own chunk, loaded when visited. */
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'home', component: HomePage, meta: { title: 'Home' } },
    {
      path: '/items/:id(\\d+)',
      name: 'item',
      component: () => import('./pages/ItemPage.vue'),
      meta: { title: 'Item' },
    },
    {
      path: '/sms',
      name: 'sms',
      component: () => import('./pages/SmsPage.vue'),
      meta: { title: 'SMS and verification codes' },
    },
    {
      path: '/flash-sale',
      name: 'flash-sale',
      component: () => import('./pages/FlashSalePage.vue'),
      meta: { title: 'Flash sale' },
    },
    {
      path: '/admin/:section(banners|products|items|queues|workers|sms|outbox|links)?',
      name: 'admin',
      component: () => import('./pages/AdminPage.vue'),
      meta: { title: 'Admin' },
    },
    {
      path: '/:rest(.*)*',
      name: 'not-found',
      component: () => import('./pages/NotFoundPage.vue'),
      meta: { title: 'Not found' },
    },
  ],
  scrollBehavior(to, _from, saved) {
    if (saved) return saved
    if (to.hash) return { el: to.hash, top: 16 }
    return { top: 0 }
  },
})

// The demo banners link to sections of the old one-page site (/#seckill, /#verify): send them to the pages.
router.beforeEach((to) => {
  if (to.path !== '/') return
  if (to.hash === '#seckill') return { path: '/flash-sale' }
  if (to.hash === '#verify') return { path: '/sms', hash: '#verify' }
})

router.afterEach((to) => {
  document.title = to.meta.title && to.name !== 'home' ? `${to.meta.title} · hotspot` : 'hotspot'
})
